"""User accounts: argon2id password hashes, sign-in with lock-out after repeated failures.

No account ever has a default password: ``create_user`` takes one (at least 12 characters) or
generates one and returns it once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import AuditLog, Unit, User
from cases.types import Role

MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id, library defaults (memory-hard)


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


class AccountError(ValueError):
    pass


class LoginFailed(AccountError):
    """Wrong user name or password (the message does not say which)."""


class AccountLocked(AccountError):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"account locked until {until.isoformat(timespec='minutes')}")
        self.until = until


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    role: Role | str,
    unit_code: str | None = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create an account; returns it and its password (generated when none is given). Does not commit."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(f"expected a role in {[r.value for r in Role]}, got {role!r}") from exc
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError(f"expected a user name of 1 to 64 characters, got {username!r}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    password = password if password is not None else generate_password()
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"expected a password of at least {MIN_PASSWORD} characters, got {len(password)}")
    unit_id = None
    if unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            unit = Unit(code=unit_code, name=unit_code)
            session.add(unit)
            session.flush()
        unit_id = unit.id
    user = User(username=username, password_hash=hash_password(password), role=role, unit_id=unit_id)
    session.add(user)
    session.flush()
    return user, password


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime | None = None,
    policy: LockoutPolicy = LockoutPolicy(),
) -> User:
    """The user if the password is right. Raises ``AccountLocked`` while locked (even with the
    right password), ``LoginFailed`` otherwise; every failure is counted and every sign-in
    attempt is audited. The caller commits (the failure counter must be kept)."""
    now = now or datetime.now(UTC)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        _hasher.hash(password)  # same work as a real check: no timing hint that the name is unknown
        session.add(AuditLog(actor=username[:64] or "?", at=now, reason="sign-in failed: unknown user"))
        raise LoginFailed("wrong user name or password")
    if user.locked_until is not None and user.locked_until > now:
        session.add(AuditLog(actor=user.username, at=now, reason="sign-in refused: locked"))
        raise AccountLocked(user.locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        user.failed_logins += 1
        reason = "sign-in failed: wrong password"
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + policy.lock_for
            user.failed_logins = 0
            reason += f"; locked until {user.locked_until.isoformat(timespec='minutes')}"
        session.add(AuditLog(actor=user.username, at=now, reason=reason))
        session.flush()
        if user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(user.locked_until) from exc
        raise LoginFailed("wrong user name or password") from exc
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.add(AuditLog(actor=user.username, at=now, reason="signed in"))
    session.flush()
    return user
