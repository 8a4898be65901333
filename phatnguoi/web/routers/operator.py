"""Operator pages: pipeline health (a minimal page for now: database, cases per status, outbox)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cases.models import Camera, Case, OutboxMessage
from phatnguoi.web.deps import CurrentOperator, SessionDep
from phatnguoi.web.pages import page

router = APIRouter(prefix="/operator", tags=["operator"])


@dataclass(frozen=True)
class Health:
    database: bool
    cases_by_status: dict[str, int]
    outbox_pending: int
    outbox_failing: int
    cameras: int


def health(session: Session) -> Health:
    session.execute(text("SELECT 1"))
    by_status = dict(session.execute(select(Case.status, func.count()).group_by(Case.status)).tuples().all())
    pending = (
        session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.processed_at.is_(None))
        )
        or 0
    )
    failing = (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.processed_at.is_(None), OutboxMessage.last_error.is_not(None))
        )
        or 0
    )
    cameras = session.scalar(select(func.count()).select_from(Camera)) or 0
    return Health(
        database=True,
        cases_by_status=by_status,
        outbox_pending=pending,
        outbox_failing=failing,
        cameras=cameras,
    )


@router.get("/")
def health_page(request: Request, session: SessionDep, user: CurrentOperator) -> Response:
    return page(request, "operator_health.html", user=user, health=health(session))
