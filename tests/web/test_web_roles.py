"""Who may open what: EVERY route of the app (enumerated from ``app.routes``) against anonymous
and each role. A route that is not declared in ``MATRIX`` fails the test: whoever adds a route
adds its row here, saying who may use it.

Outcomes: allowed = neither 401/403 nor a redirect to the sign-in page (it may be 200, 303 to
somewhere else, 404 for a sample id, 422 for a form sent empty); a forbidden role gets 403; an
anonymous visitor is sent to the sign-in page (HTML) or gets 401 (``/api/``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route
from web_helpers import csrf_of, login, preview_jpeg, seed_case

from cases.accounts import create_user
from cases.models import CameraStatus
from cases.types import Role

ANON = "anonymous"
ROLES = [r.value for r in Role]
EVERYONE = frozenset({ANON, *ROLES})
POLICE = frozenset({"officer", "supervisor", "admin"})
SUPERVISORS = frozenset({"supervisor", "admin"})
OPERATORS = frozenset({"operator", "admin"})
ADMINS = frozenset({"admin"})
# Machine-to-machine routes: no session; the request must carry a signature, so the unsigned
# requests of this walk are refused (400/403/422) for everybody.
SIGNED = frozenset({"signed"})

# (method, path) -> who may use it. "MOUNT" rows are static mounts (fetched with a GET).
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/"): EVERYONE,
    ("MOUNT", "/static"): EVERYONE,
    ("GET", "/api/openapi.json"): EVERYONE,
    ("GET", "/api/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): EVERYONE,
    # public (issue 7 owns these pages)
    ("GET", "/lookup"): EVERYONE,
    ("GET", "/public/evidence/{sha256}"): EVERYONE,
    ("GET", "/verify/{token}"): EVERYONE,
    ("GET", "/api/public/lookup"): EVERYONE,
    ("GET", "/api/health"): EVERYONE,
    ("GET", "/api/public/challenge"): EVERYONE,
    # the case desk (issue 6): deadlines, resolution, citizen submissions; a signed payment callback
    ("GET", "/desk/due"): POLICE,
    ("GET", "/desk/cases/{case_id}"): POLICE,
    ("POST", "/desk/cases/{case_id}/release-hold"): SUPERVISORS,
    ("POST", "/desk/cases/{case_id}/appointment"): POLICE,
    ("POST", "/desk/cases/{case_id}/appear"): POLICE,
    ("POST", "/desk/cases/{case_id}/statement"): POLICE,
    ("POST", "/desk/cases/{case_id}/decision"): POLICE,
    ("POST", "/desk/cases/{case_id}/payment-request"): POLICE,
    ("POST", "/desk/cases/{case_id}/transfer"): POLICE,
    ("POST", "/desk/cases/{case_id}/dismiss"): SUPERVISORS,
    ("POST", "/desk/cases/{case_id}/expire"): POLICE,
    ("GET", "/desk/submissions"): POLICE,
    ("POST", "/desk/submissions"): POLICE,
    ("POST", "/desk/submissions/{submission_id}/verify"): POLICE,
    ("POST", "/desk/submissions/{submission_id}/refuse"): POLICE,
    ("POST", "/desk/payments/callback"): SIGNED,
    # sign-in
    ("GET", "/police/login"): EVERYONE,
    ("POST", "/police/login"): EVERYONE,
    ("POST", "/police/logout"): EVERYONE,
    # police review
    ("GET", "/police/"): POLICE,
    ("GET", "/police/cases/{case_id}"): POLICE,
    ("POST", "/police/cases/{case_id}/approve"): POLICE,
    ("POST", "/police/cases/{case_id}/reject"): POLICE,
    ("POST", "/police/cases/{case_id}/correct"): POLICE,
    ("GET", "/police/search"): POLICE,
    ("GET", "/police/notices/{notice_id}.pdf"): POLICE,
    ("GET", "/police/evidence/{sha256}"): POLICE,
    ("GET", "/api/cases/queue"): POLICE,
    ("GET", "/api/cases/{case_id}"): POLICE,
    # supervisor
    ("GET", "/police/corrections"): SUPERVISORS,
    ("POST", "/police/corrections/{correction_id}/confirm"): SUPERVISORS,
    ("POST", "/police/corrections/{correction_id}/refuse"): SUPERVISORS,
    ("GET", "/police/stats"): SUPERVISORS,
    ("POST", "/police/cases/{case_id}/assign"): SUPERVISORS,
    # operator
    ("GET", "/operator/"): OPERATORS,
    ("GET", "/operator/cameras/{camera_id}"): OPERATORS,
    ("GET", "/operator/cameras/{camera_id}/preview.jpg"): OPERATORS,
    ("GET", "/operator/cameras/{camera_id}/live.mjpg"): OPERATORS,
    ("GET", "/api/operator/cameras"): OPERATORS,
    # admin
    ("GET", "/admin/users"): ADMINS,
    ("POST", "/admin/users"): ADMINS,
    ("POST", "/admin/users/{user_id}/deactivate"): ADMINS,
    ("GET", "/admin/cameras"): ADMINS,
    ("POST", "/admin/cameras/{camera_id}/disable"): ADMINS,
    ("POST", "/admin/cameras/{camera_id}/enable"): ADMINS,
    ("GET", "/admin/tariff"): ADMINS,
}

LAST = {("POST", "/police/logout")}  # run last: it ends the session


def flat_routes(routes: list, prefix: str = "") -> Iterator[tuple[str, str]]:  # type: ignore[type-arg]
    """(method, path) of every route, through included routers and mounts."""
    for route in routes:
        original = getattr(route, "original_router", None)  # FastAPI >= 0.16x wraps included routers
        if original is not None:
            context = getattr(route, "include_context", None)
            yield from flat_routes(original.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, Mount):
            yield "MOUNT", prefix + route.path
        elif isinstance(route, APIRoute | Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, prefix + route.path


@pytest.fixture
def world(client, web_db, store, tmp_path):  # type: ignore[no-untyped-def]
    """Sample values for the path parameters, and one account per role."""
    case_id = seed_case(web_db, store, tmp_path)
    sha = store.put(b"\xff\xd8 sample", content_type="image/jpeg")
    with web_db() as session:
        session.add(CameraStatus(camera_id="cam-01", verdict="healthy", detail="", preview_jpeg=preview_jpeg()))
        spare, _ = create_user(session, username="spare", role="officer", password="spare-password-long")
        session.commit()
        spare_id = spare.id
    return {
        "case_id": str(case_id), "sha256": sha, "notice_id": "999999", "token": "not-a-token",
        "camera_id": "cam-01", "correction_id": "999999", "user_id": str(spare_id), "submission_id": "999999",
    }


def _url(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no sample value for a parameter of {path}: add it to the world fixture"
    if path.endswith("live.mjpg"):
        path += "?frames=1"
    if path == "/static":
        path = "/static/style.css"
    return path


def test_every_route_is_declared(client):
    found = set(flat_routes(client.app.routes))
    undeclared = sorted(found - set(MATRIX))
    assert not undeclared, (
        f"routes not declared in tests/web/test_web_roles.py MATRIX: {undeclared}. Add a row for each, "
        "saying which roles (and whether anonymous visitors) may use it."
    )
    gone = sorted(set(MATRIX) - found)
    assert not gone, f"MATRIX declares routes the app no longer has: {gone}"


@pytest.mark.parametrize("who", [ANON, *ROLES])
def test_route_role_matrix(client, web_db, world, who):
    if who != ANON:
        with web_db() as session:
            create_user(session, username=f"u-{who}", role=who, password=f"{who}-password-long-enough")
            session.commit()
        assert login(client, f"u-{who}", f"{who}-password-long-enough").status_code == 303
    routes = sorted(set(flat_routes(client.app.routes)), key=lambda r: (r in LAST, r))
    wrong = []
    for method, path in routes:
        allowed = who in MATRIX[(method, path)]
        url = _url(path, world)
        if method == "POST":
            token = csrf_of(client.get("/police/login").text)
            response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
        else:
            response = client.get(url, follow_redirects=False)
        code = response.status_code
        to_login = code == 303 and response.headers["location"].startswith("/police/login")
        if (method, path) == ("POST", "/police/logout"):
            ok = code == 303
        elif MATRIX[(method, path)] == SIGNED:
            ok = code in (400, 403, 422)
        elif allowed:
            ok = code not in (401, 403) and not to_login
        elif who == ANON:
            ok = code == 401 if path.startswith("/api/") else to_login
        else:
            ok = code == 403
        if not ok:
            wrong.append(f"{method} {url}: {code} ({'allowed' if allowed else 'forbidden'} for {who})")
    assert not wrong, "\n".join(wrong)


def test_sign_ins_are_audited_and_no_default_account_exists(client, web_db):
    from sqlalchemy import select

    from cases.models import AuditLog, User

    with web_db() as session:
        assert session.scalars(select(User)).all() == []  # a fresh database has no account at all
        create_user(session, username="sv", role="supervisor", password="supervisor-password-1")
        session.commit()
    assert login(client, "sv", "wrong-password-123").status_code == 401
    assert login(client, "sv", "supervisor-password-1").status_code == 303
    with web_db() as session:
        reasons = [(a.actor, a.reason) for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert ("sv", "sign-in failed: wrong password") in reasons
    assert ("sv", "signed in") in reasons
