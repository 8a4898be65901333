"""Supervisor pages: plate corrections waiting for a second person, the statistics, and
reassigning a case to another officer or resolving unit (audited, with a reason)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cases import review
from cases.models import AuditLog, Case, Unit, User
from cases.states import STATUS_VI, Status
from cases.types import REJECT_REASON_VI, RejectReason, Role
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


FINAL = (Status.REJECTED, Status.CLOSED)
ASSIGNABLE_ROLES = (Role.OFFICER, Role.SUPERVISOR)


def reassign(session: Session, case: Case, *, actor: User, officer_id: int | None, unit_id: int | None,
             reason: str) -> str:
    """Give ``case`` to another officer (of any unit) and/or another resolving unit; returns the
    audit text. Raises ``ValueError`` naming the problem: a reason is required, the officer must
    be an active officer or supervisor, the unit must exist, a closed or rejected case stays put."""
    reason = reason.strip()
    if not reason:
        raise ValueError("Cần ghi lý do giao lại hồ sơ.")
    if case.status in FINAL:
        raise ValueError(f"Hồ sơ đã {STATUS_VI[Status(case.status)].lower()}: không giao lại được.")
    officer = session.get(User, officer_id) if officer_id is not None else None
    if officer_id is not None and (officer is None or not officer.active or officer.role not in ASSIGNABLE_ROLES):
        raise ValueError(f"Không có cán bộ đang hoạt động với mã {officer_id}.")
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit_id is not None and unit is None:
        raise ValueError(f"Không có đơn vị với mã {unit_id}.")
    changes = []
    if officer_id != case.assigned_to_id:
        before = case.assigned_to.username if case.assigned_to else "—"
        changes.append(f"officer {before} -> {officer.username if officer else '—'}")
        case.assigned_to_id = officer_id
    if unit_id is not None and unit_id != case.resolving_unit_id:
        before = case.resolving_unit.code if case.resolving_unit else "—"
        changes.append(f"resolving unit {before} -> {unit.code if unit else '—'}")
        case.resolving_unit_id = unit_id
    if not changes:
        raise ValueError("Không có thay đổi: hồ sơ đã được giao như vậy.")
    text = f"reassigned: {'; '.join(changes)}; reason: {reason}"
    session.add(AuditLog(case_id=case.id, actor=actor.username, reason=text[:2000]))
    return text


def _optional_id(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"{name}: expected an id, got {value!r}")
    return int(value)


@router.post("/cases/{case_id}/assign")
def assign(
    case_id: int, session: SessionDep, user: CurrentSupervisor, _csrf: CsrfChecked,
    officer: Annotated[str, Form()] = "", unit: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
) -> Response:
    """Reassign a case from its page (supervisors and admins; officers get 403): another
    officer, possibly of another unit, and/or another resolving unit, with a reason in the audit log."""
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=f"no case {case_id}")
    try:
        reassign(session, case, actor=user, officer_id=_optional_id(officer, "officer"),
                 unit_id=_optional_id(unit, "unit"), reason=reason)
    except ValueError as exc:
        session.rollback()
        return RedirectResponse(f"/police/cases/{case_id}?error={quote(str(exc))}", status_code=303)
    session.commit()
    return RedirectResponse(f"/police/cases/{case_id}?done={quote('Đã giao lại hồ sơ')}#assign", status_code=303)
