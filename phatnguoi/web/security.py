"""Sign-in session and CSRF helpers. The session is Starlette's signed cookie (itsdangerous);
it holds the user id and the CSRF token, nothing else."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use); every form carries it."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a form whose CSRF token is missing or is not this session's (403)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
        raise HTTPException(
            status_code=403, detail="CSRF token missing or wrong: reload the page and try again"
        )


def sign_in(request: Request, user_id: int) -> None:
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["user_id"] = user_id
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()
