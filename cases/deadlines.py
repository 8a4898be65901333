"""The legal timers (shared/DOMAIN.md): a scheduled job raises a flag when a deadline passes, and
the officer's dashboard lists the open flags of a unit. The job never changes a case's status: a
flag is a visible fact (with its audit row); the move that satisfies it clears it
(``cases.states.CLEARS``), and an officer makes every status change.

Raising the 20-day warning also queues the ``warning`` notice (to vehicle inspection and
registration). The job is set-based: one query per kind finds the cases whose deadline passed and
that have no flag of that kind yet, then bulk inserts flags, audit rows and outbox rows, so
100,000 open cases take seconds (bench/cases_deadlines.py), not one ORM round trip each.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from cases.models import AuditLog, Case, DeadlineFlag, Decision, OutboxMessage
from cases.states import RENDER_NOTICE, TERMINAL, Status
from cases.types import VN_TZ, FlagKind, NoticeKind

log = logging.getLogger("phatnguoi.cases.deadlines")
ACTOR = "system:deadlines"
BATCH = 5_000

# statuses in which each deadline still runs
RUNS_IN: dict[FlagKind, frozenset[Status]] = {
    FlagKind.NOTIFY_OVERDUE: frozenset({Status.DETECTED, Status.EXTRACTED, Status.FILED, Status.NOTICE_PRINTED}),
    FlagKind.WARNING: frozenset({Status.NOTIFIED, Status.RESOLVING}),
    FlagKind.PAYMENT_OVERDUE: frozenset({Status.DECIDED}),
    # after the decision the limitation of the violation no longer runs (its execution is another matter)
    FlagKind.EXPIRY: frozenset(set(Status) - TERMINAL - {Status.DECIDED}),
}
NOTICE_ON_RAISE: dict[FlagKind, NoticeKind] = {FlagKind.WARNING: NoticeKind.WARNING}


@dataclass(frozen=True)
class DeadlinePolicy:
    """The figures of the timers; ``notify_days`` and ``expiry_days`` are stamped on the case at
    intake (``notify_by``, ``expires_at``), the others are counted from the notice/decision."""

    warning_days: int = 20
    payment_days: int = 10
    late_interest_per_day: float = 0.0005  # 0.05 % of the fine per day late


@dataclass
class DeadlineRun:
    raised: dict[FlagKind, int] = field(default_factory=dict)
    cleared: int = 0
    seconds: float = 0.0

    @property
    def total_raised(self) -> int:
        return sum(self.raised.values())


def _no_flag(kind: FlagKind) -> Any:
    return ~exists().where(DeadlineFlag.case_id == Case.id, DeadlineFlag.kind == kind.value)


def _candidates(kind: FlagKind, policy: DeadlinePolicy, now: datetime) -> Any:
    """``(case_id, due_at)`` of open cases whose ``kind`` deadline passed and that have no such flag."""
    statuses = [s.value for s in RUNS_IN[kind]]
    base = (Case.status.in_(statuses), _no_flag(kind))
    if kind == FlagKind.NOTIFY_OVERDUE:
        return select(Case.id, Case.notify_by).where(*base, Case.notify_by <= now)
    if kind == FlagKind.WARNING:
        cutoff = now - timedelta(days=policy.warning_days)
        return select(Case.id, Case.notified_at).where(*base, Case.notified_at <= cutoff)
    if kind == FlagKind.PAYMENT_OVERDUE:
        return (
            select(Case.id, Decision.pay_by)
            .join(Decision, Decision.case_id == Case.id)
            .where(*base, Decision.pay_by <= now)
        )
    return select(Case.id, Case.expires_at).where(*base, Case.expires_at <= now)


def _due_at(kind: FlagKind, value: datetime, policy: DeadlinePolicy) -> datetime:
    return value + timedelta(days=policy.warning_days) if kind == FlagKind.WARNING else value


def _insert_ignore(session: Session, model: type, rows: Sequence[dict[str, Any]], returning: Any = None) -> list:
    """Bulk ``INSERT ... ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite): a second job running at
    the same moment cannot raise a flag or queue a notice twice."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).on_conflict_do_nothing()
    if returning is None:
        session.execute(stmt, list(rows))
        return []
    return list(session.scalars(stmt.returning(returning, sort_by_parameter_order=True), list(rows)))


def run_deadlines(
    session: Session, *, policy: DeadlinePolicy | None = None, now: datetime | None = None
) -> DeadlineRun:
    """Raise every flag whose deadline passed, with its audit row (and the warning notice); clear
    the flags of cases that reached a final status. Commits nothing: the caller commits once."""
    policy = policy or DeadlinePolicy()
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    run = DeadlineRun()
    for kind in FlagKind:
        found = session.execute(_candidates(kind, policy, now)).all()
        run.raised[kind] = 0
        for start in range(0, len(found), BATCH):
            chunk = found[start : start + BATCH]
            flags = [
                {"case_id": case_id, "kind": kind.value, "due_at": _due_at(kind, value, policy), "raised_at": now}
                for case_id, value in chunk
            ]
            new_ids = _insert_ignore(session, DeadlineFlag, flags, returning=DeadlineFlag.case_id)
            run.raised[kind] += len(new_ids)
            if new_ids:
                session.execute(
                    cast(Table, AuditLog.__table__).insert(),
                    [
                        {"case_id": cid, "actor": ACTOR, "at": now, "reason": f"deadline flag raised: {kind.value}"}
                        for cid in new_ids
                    ],
                )
            notice = NOTICE_ON_RAISE.get(kind)
            if notice is not None and new_ids:
                _insert_ignore(
                    session,
                    OutboxMessage,
                    [
                        {
                            "kind": RENDER_NOTICE,
                            "payload": {"case_id": cid, "type": notice.value},
                            "created_at": now,
                            "attempts": 0,
                            "dedupe_key": f"{RENDER_NOTICE}:{notice.value}:{cid}",
                        }
                        for cid in new_ids
                    ],
                )
    # a safety net: a case that reached a final status by any path has no open flag
    cleared = session.execute(
        update(DeadlineFlag)
        .where(
            DeadlineFlag.cleared_at.is_(None),
            exists().where(and_(Case.id == DeadlineFlag.case_id, Case.status.in_([s.value for s in TERMINAL]))),
        )
        .values(cleared_at=now)
        .execution_options(synchronize_session=False)
    )
    run.cleared = getattr(cleared, "rowcount", 0) or 0
    session.flush()
    run.seconds = time.perf_counter() - started
    return run


def days_late(pay_by: datetime, at: datetime) -> int:
    """Whole calendar days (Vietnam time) after the payment deadline; 0 when on time."""
    late = at.astimezone(VN_TZ).date() - pay_by.astimezone(VN_TZ).date()
    return max(0, late.days)


def late_interest(fine_vnd: int, pay_by: datetime, at: datetime, policy: DeadlinePolicy | None = None) -> int:
    """0.05 % of the fine per day late (shared/DOMAIN.md), rounded up to the đồng."""
    policy = policy or DeadlinePolicy()
    return math.ceil(fine_vnd * policy.late_interest_per_day * days_late(pay_by, at))


@dataclass(frozen=True)
class DueItem:
    flag: DeadlineFlag
    case: Case


def due(
    *, session: Session, unit: int | None = None, kinds: Sequence[FlagKind] | None = None, limit: int = 200
) -> list[DueItem]:
    """Open flags, oldest deadline first, for the unit that resolves the case (``None``: all)."""
    query = (
        select(DeadlineFlag, Case)
        .join(Case, Case.id == DeadlineFlag.case_id)
        .where(DeadlineFlag.cleared_at.is_(None))
        .order_by(DeadlineFlag.due_at, DeadlineFlag.id)
        .limit(limit)
    )
    if unit is not None:
        query = query.where(Case.resolving_unit_id == unit)
    if kinds:
        query = query.where(DeadlineFlag.kind.in_([k.value for k in kinds]))
    return [DueItem(flag, case) for flag, case in session.execute(query).all()]


def run_periodically(
    factory: sessionmaker[Session], stop: threading.Event, *, every_s: float, policy: DeadlinePolicy | None = None
) -> None:
    """The cases worker's timer: run the job every ``every_s`` until ``stop``; an error is logged
    and the next run tries again (the job is idempotent)."""
    while not stop.is_set():
        try:
            with factory() as session:
                result = run_deadlines(session, policy=policy)
                session.commit()
            if result.total_raised or result.cleared:
                log.info("deadline flags raised %s, cleared %d", dict(result.raised), result.cleared)
        except Exception:  # noqa: BLE001 - keep the timer alive; the next run retries
            log.exception("deadline job failed")
        stop.wait(every_s)
