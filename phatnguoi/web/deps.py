"""FastAPI dependencies as ``Annotated`` aliases: ``SessionDep``, ``StoreDep``, ``CurrentUser``,
``CurrentOfficer``, ``CurrentOperator``, ``CurrentSupervisor``, ``CurrentAdmin``, ``CsrfChecked``.

Who may do what (the route x role matrix in tests/web/test_web_roles.py checks every route):
officer: review, the cases of their unit; supervisor: the officer's pages, plate-correction
decisions, statistics; operator: cameras and pipeline health; admin: everything, and users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cases.models import User
from cases.types import Role
from detection.evidence_store import EvidenceStore
from phatnguoi.web.security import check_csrf


class LoginRequired(Exception):
    """No signed-in user: HTML pages redirect to the sign-in page, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the role may not do this (403)."""


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_store(request: Request) -> EvidenceStore:
    return request.app.state.evidence_store


SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[EvidenceStore, Depends(get_store)]


def current_user(request: Request, session: SessionDep) -> User:
    user_id = request.session.get("user_id")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active:
        raise LoginRequired()
    return user


def _role(*roles: Role):  # type: ignore[no-untyped-def]
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise Forbidden(f"role {user.role} may not open this page")
        return user

    return check


CurrentUser = Annotated[User, Depends(current_user)]
CurrentOfficer = Annotated[User, Depends(_role(Role.OFFICER, Role.SUPERVISOR, Role.ADMIN))]
CurrentOperator = Annotated[User, Depends(_role(Role.OPERATOR, Role.ADMIN))]
CurrentSupervisor = Annotated[User, Depends(_role(Role.SUPERVISOR, Role.ADMIN))]
CurrentAdmin = Annotated[User, Depends(_role(Role.ADMIN))]
CsrfChecked = Annotated[None, Depends(check_csrf)]
