"""The statistics a supervisor reads: cases per day by rule and by status, review throughput per
officer, rejection reasons. Each is one GROUP BY in the database (days in Vietnam time), so the
page stays fast with many cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cases.models import AuditLog, Case
from cases.states import Status
from cases.types import VN_TZ


@dataclass(frozen=True)
class Statistics:
    days: list[date]
    by_rule: dict[str, list[int]]  # rule -> count per day
    by_status: dict[str, list[int]]  # status -> count per day
    throughput: list[tuple[str, int, int]]  # officer, approved, rejected
    reasons: list[tuple[str, int]]
    total: int


def _vn_day(session: Session) -> ColumnElement[str]:
    """The violation's day in Vietnam time, as 'YYYY-MM-DD' text, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", Case.occurred_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", Case.occurred_at, "+7 hours")


def statistics(*, session: Session, days: int = 14, today: date | None = None) -> Statistics:
    if not 1 <= days <= 366:
        raise ValueError(f"expected 1 to 366 days, got {days}")
    today = today or datetime.now(VN_TZ).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), VN_TZ)
    until = datetime.combine(today + timedelta(days=1), time(), VN_TZ)
    span = [first + timedelta(days=i) for i in range(days)]
    index = {d.isoformat(): i for i, d in enumerate(span)}
    day = _vn_day(session).label("day")

    by_rule: dict[str, list[int]] = {}
    by_status: dict[str, list[int]] = {}
    rows = session.execute(  # one pass over the period's cases serves both charts
        select(day, Case.rule, Case.status, func.count())
        .where(Case.occurred_at >= since, Case.occurred_at < until)
        .group_by(day, Case.rule, Case.status)
    ).all()
    for d, rule, status, n in rows:
        if d in index:
            by_rule.setdefault(str(rule), [0] * days)[index[d]] += n
            by_status.setdefault(str(status), [0] * days)[index[d]] += n
    decided = session.execute(
        select(AuditLog.actor, AuditLog.to_status, func.count())
        .where(
            AuditLog.at >= since.astimezone(UTC),
            AuditLog.at < until.astimezone(UTC),
            AuditLog.to_status.in_([Status.FILED, Status.REJECTED]),
            ~AuditLog.actor.like("system%"),
        )
        .group_by(AuditLog.actor, AuditLog.to_status)
    ).all()
    per_officer: dict[str, list[int]] = {}
    for actor, to_status, n in decided:
        per_officer.setdefault(actor, [0, 0])[0 if to_status == Status.FILED else 1] += n
    throughput = sorted(((a, v[0], v[1]) for a, v in per_officer.items()), key=lambda t: -(t[1] + t[2]))
    reasons = session.execute(
        select(Case.reject_reason, func.count())
        .where(Case.status == Status.REJECTED, Case.occurred_at >= since, Case.occurred_at < until)
        .group_by(Case.reject_reason)
        .order_by(func.count().desc())
    ).all()
    return Statistics(
        days=span,
        by_rule=by_rule,
        by_status=by_status,
        throughput=throughput,
        reasons=[(str(r or "?"), n) for r, n in reasons],
        total=sum(sum(v) for v in by_rule.values()),
    )
