"""Supervisor pages: plate corrections waiting for a second person, and the statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from cases import review
from cases.states import STATUS_VI, Status
from cases.types import REJECT_REASON_VI, RejectReason
from phatnguoi.web.charts import horizontal_bars, stacked_columns
from phatnguoi.web.deps import CsrfChecked, CurrentSupervisor, SessionDep
from phatnguoi.web.pages import page
from phatnguoi.web.routers.police import RULE_VI
from phatnguoi.web.stats import statistics

router = APIRouter(prefix="/police", tags=["supervisor"])


@router.get("/corrections")
def corrections_page(
    request: Request, session: SessionDep, user: CurrentSupervisor, error: str | None = None
) -> Response:
    return page(request, "police_corrections.html", user=user, error=error,
                corrections=review.pending_corrections(session=session))


def _decide(session: SessionDep, action, correction_id: int) -> Response:  # type: ignore[no-untyped-def]
    try:
        correction = action()
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except review.ReviewError as exc:
        session.rollback()
        from urllib.parse import quote

        return RedirectResponse(f"/police/corrections?error={quote(str(exc))}", status_code=303)
    session.commit()
    return RedirectResponse(f"/police/corrections#done-{correction.id}", status_code=303)


@router.post("/corrections/{correction_id}/confirm")
def confirm(correction_id: int, session: SessionDep, user: CurrentSupervisor, _csrf: CsrfChecked) -> Response:
    return _decide(session, lambda: review.confirm_correction(
        session=session, correction_id=correction_id, actor=user.username, role=user.role), correction_id)


@router.post("/corrections/{correction_id}/refuse")
def refuse(
    correction_id: int, session: SessionDep, user: CurrentSupervisor, _csrf: CsrfChecked,
    note: Annotated[str, Form()] = "",
) -> Response:
    return _decide(session, lambda: review.refuse_correction(
        session=session, correction_id=correction_id, actor=user.username, role=user.role, note=note),
        correction_id)


@router.get("/stats")
def stats_page(
    request: Request, session: SessionDep, user: CurrentSupervisor, days: int = 14, until: str = ""
) -> Response:
    """The ``days`` days up to ``until`` (a date, default today)."""
    days = min(max(days, 1), 90)
    try:
        last = date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"until: expected a date YYYY-MM-DD, got {until!r}") from exc
    s = statistics(session=session, days=days, today=last)
    labels = [d.strftime("%d/%m") for d in s.days]
    by_rule = {RULE_VI.get(k, k): v for k, v in sorted(s.by_rule.items())}
    order = list(Status)
    by_status = {STATUS_VI[Status(k)]: s.by_status[k] for k in order if k in s.by_status}
    reasons = [(REJECT_REASON_VI.get(RejectReason(r), r) if r in RejectReason.__members__.values() else r, n)
               for r, n in s.reasons]
    return page(
        request, "police_stats.html", user=user, stats=s, days=days, until=until,
        rule_chart=stacked_columns(labels, by_rule, title="Vi phạm theo ngày và hành vi"),
        status_chart=stacked_columns(labels, by_status, title="Vi phạm theo ngày và trạng thái"),
        officer_chart=horizontal_bars([(a, ok + no) for a, ok, no in s.throughput], title="Hồ sơ đã duyệt"),
        reason_chart=horizontal_bars(reasons, title="Lý do loại"),
    )
