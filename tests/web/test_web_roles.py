"""Who may open what: every role against the signed-in pages (the allowed/forbidden matrix)."""

from __future__ import annotations

import pytest
from web_helpers import login

from cases.accounts import create_user

PAGES = {
    "/police/": {"officer", "supervisor", "admin"},
    "/operator/": {"operator", "admin"},
    "/api/cases/queue": {"officer", "supervisor", "admin"},
}
ROLES = ["officer", "supervisor", "operator", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client, web_db, role):
    password = f"{role}-password-long-enough"
    with web_db() as session:
        create_user(session, username=role, role=role, password=password)
        session.commit()
    assert login(client, role, password).status_code == 303
    for path, allowed in PAGES.items():
        code = client.get(path, follow_redirects=False).status_code
        assert code == (200 if role in allowed else 403), (role, path, code)
