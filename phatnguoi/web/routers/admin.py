"""Admin pages: user accounts (create with a generated password shown once, deactivate). No
account is ever created with a default password; every change is written to the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cases.accounts import AccountError, create_user
from cases.models import AuditLog, Unit, User
from cases.types import Role
from phatnguoi.web.deps import CsrfChecked, CurrentAdmin, SessionDep
from phatnguoi.web.pages import page

router = APIRouter(prefix="/admin", tags=["admin"])


def _users_page(request: Request, session: SessionDep, user: User, *, status_code: int = 200,
                error: str | None = None, created: tuple[str, str] | None = None) -> Response:
    users = session.scalars(select(User).order_by(User.role, User.username)).all()
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    return page(request, "admin_users.html", status_code=status_code, user=user, users=users, units=units,
                roles=list(Role), error=error, created=created)


@router.get("/users")
def users_page(request: Request, session: SessionDep, user: CurrentAdmin) -> Response:
    return _users_page(request, session, user)


@router.post("/users")
def add_user(
    request: Request, session: SessionDep, user: CurrentAdmin, _csrf: CsrfChecked,
    username: Annotated[str, Form()], role: Annotated[str, Form()], unit: Annotated[str, Form()] = "",
) -> Response:
    """Create an account with a generated password, shown once on the answer page."""
    try:
        created, password = create_user(session, username=username, role=role, unit_code=unit or None)
    except AccountError as exc:
        session.rollback()
        return _users_page(request, session, user, status_code=422, error=str(exc))
    session.add(AuditLog(actor=user.username, reason=f"created {created.role} account {created.username!r}"))
    session.commit()
    return _users_page(request, session, user, created=(created.username, password))


@router.post("/users/{user_id}/deactivate")
def deactivate(user_id: int, session: SessionDep, user: CurrentAdmin, _csrf: CsrfChecked) -> Response:
    target = session.get(User, user_id)
    if target is None:
        raise HTTPException(status_code=404, detail=f"no user {user_id}")
    if target.id == user.id:
        raise HTTPException(status_code=409, detail="you cannot deactivate your own account")
    target.active = False
    session.add(AuditLog(actor=user.username, reason=f"deactivated account {target.username!r}"))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)
