"""The case state machine: the six legal steps (shared/ARCHITECTURE.md) as a table, and the one
guarded function that changes a case's status.

``transition`` is the only code that assigns ``Case.status``. It refuses an illegal move before
touching anything, stamps the time, appends the audit row and writes the move's side effects to
the outbox, all in the caller's transaction: commit once and all of it is durable, roll back and
none of it happened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, func, select, update

from cases.types import FlagKind, NoticeKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cases.models import Case


class Status(StrEnum):
    DETECTED = "detected"  # step 1: images collected
    EXTRACTED = "extracted"  # step 2: evidence package complete, in the review queue
    REJECTED = "rejected"  # review said no (always with a reason)
    FILED = "filed"  # step 3: approved, owner identified, fine computed
    NOTICE_PRINTED = "notice_printed"  # step 3: notice PDF rendered
    NOTIFIED = "notified"  # step 4: sent to the owner and published
    RESOLVING = "resolving"  # step 5: owner appeared / driver identified
    DECIDED = "decided"  # step 5: record and penalty decision issued
    CLOSED = "closed"  # step 6: closed with an outcome


class Outcome(StrEnum):
    PAID = "paid"
    DISMISSED = "dismissed"
    TRANSFERRED = "transferred"
    EXPIRED = "expired"


# from -> the statuses it may move to. Data, not code: tests walk it.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DETECTED: frozenset({Status.EXTRACTED, Status.REJECTED}),
    Status.EXTRACTED: frozenset({Status.FILED, Status.REJECTED}),
    Status.REJECTED: frozenset(),
    Status.FILED: frozenset({Status.NOTICE_PRINTED, Status.CLOSED}),
    Status.NOTICE_PRINTED: frozenset({Status.NOTIFIED, Status.CLOSED}),
    Status.NOTIFIED: frozenset({Status.RESOLVING, Status.CLOSED}),
    Status.RESOLVING: frozenset({Status.DECIDED, Status.CLOSED}),
    Status.DECIDED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

TERMINAL: frozenset[Status] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)

# Moves that must say why (an officer's reason, or the rule that closed the case).
REASON_REQUIRED: frozenset[Status] = frozenset({Status.REJECTED})

RENDER_NOTICE = "render_notice"  # the outbox kind issue 7's notice worker performs

# Side effects of arriving in a status, or of closing with an outcome: the notices queued (outbox
# ``render_notice`` rows) in the same transaction. Lifting a warning adds WARNING_ENDED.
EFFECTS: dict[Status, tuple[NoticeKind, ...]] = {
    Status.FILED: (NoticeKind.FIRST,),
    Status.DECIDED: (NoticeKind.DECISION,),
}
OUTCOME_EFFECTS: dict[Outcome, tuple[NoticeKind, ...]] = {
    Outcome.TRANSFERRED: (NoticeKind.TRANSFER_LOCAL,),
}

# Deadline flags a move satisfies: cleared (never deleted) when the case arrives there.
CLEARS: dict[Status, frozenset[FlagKind]] = {
    Status.NOTIFIED: frozenset({FlagKind.NOTIFY_OVERDUE}),
    Status.CLOSED: frozenset(FlagKind),
    Status.REJECTED: frozenset(FlagKind),
}

# Statuses in which the public lookup lists a case (published from filing on).
PUBLIC: frozenset[Status] = frozenset(
    {Status.FILED, Status.NOTICE_PRINTED, Status.NOTIFIED, Status.RESOLVING, Status.DECIDED, Status.CLOSED}
)

STATUS_VI: dict[Status, str] = {
    Status.DETECTED: "Mới phát hiện",
    Status.EXTRACTED: "Chờ duyệt",
    Status.REJECTED: "Đã loại",
    Status.FILED: "Đã lập hồ sơ",
    Status.NOTICE_PRINTED: "Đã in thông báo",
    Status.NOTIFIED: "Đã thông báo",
    Status.RESOLVING: "Đang giải quyết",
    Status.DECIDED: "Đã ra quyết định",
    Status.CLOSED: "Đã kết thúc",
}


class IllegalTransition(ValueError):
    """A move the table does not allow, or one missing what it needs; nothing was changed."""

    def __init__(self, from_status: str, to_status: str, why: str = "not an allowed transition") -> None:
        super().__init__(f"illegal case transition {from_status} -> {to_status}: {why}")
        self.from_status = from_status
        self.to_status = to_status


def allowed(from_status: Status | str, to_status: Status | str) -> bool:
    return Status(to_status) in TRANSITIONS[Status(from_status)]


# --- guards: what a move needs besides being in the table. Each returns why it refuses, or None. ---

Guard = Callable[["Session", "Case", "datetime"], "str | None"]


def _not_held(session: Session, case: Case, at: datetime) -> str | None:
    if case.held_for_review:
        return f"held for review ({case.hold_reason or 'no reason given'}): release the hold first"
    return None


def _owner_and_fine(session: Session, case: Case, at: datetime) -> str | None:
    if case.vehicle_id is None:
        return "the owner is not identified (no registry entry linked)"
    if case.fine_min_vnd is None or case.tariff_version is None:
        return "no fine computed from the tariff"
    return None


def _has_decision(session: Session, case: Case, at: datetime) -> str | None:
    from cases.models import Decision

    found = session.scalar(select(Decision.id).where(Decision.case_id == case.id))
    return None if found is not None else "no violation record and penalty decision"


def _paid_in_full(session: Session, case: Case, at: datetime) -> str | None:
    from cases.models import Decision, Payment

    fine = session.scalar(select(Decision.fine_vnd).where(Decision.case_id == case.id))
    paid = session.scalar(
        select(func.coalesce(func.sum(Payment.fine_vnd), 0)).where(
            Payment.case_id == case.id, Payment.verified.is_(True)
        )
    )
    if fine is None:
        return "no decision to pay"
    paid = int(paid or 0)
    return None if paid >= fine else f"verified payments cover {paid} of {fine} VND"


def _has_transfer(session: Session, case: Case, at: datetime) -> str | None:
    from cases.models import Transfer

    found = session.scalar(select(Transfer.id).where(Transfer.case_id == case.id))
    return None if found is not None else "no transfer recorded"


def _limitation_passed(session: Session, case: Case, at: datetime) -> str | None:
    return None if case.expires_at <= at else f"the case expires only at {case.expires_at.isoformat()}"


# target status -> guards every move into it must pass
GUARDS: dict[Status, tuple[Guard, ...]] = {
    Status.FILED: (_not_held, _owner_and_fine),
    Status.DECIDED: (_has_decision,),
}

# closing: from -> the outcomes it may close with, and what each outcome needs
CLOSE_OUTCOMES: dict[Status, frozenset[Outcome]] = {
    Status.FILED: frozenset({Outcome.TRANSFERRED, Outcome.DISMISSED, Outcome.EXPIRED}),
    Status.NOTICE_PRINTED: frozenset({Outcome.TRANSFERRED, Outcome.DISMISSED, Outcome.EXPIRED}),
    Status.NOTIFIED: frozenset({Outcome.TRANSFERRED, Outcome.DISMISSED, Outcome.EXPIRED}),
    Status.RESOLVING: frozenset({Outcome.TRANSFERRED, Outcome.DISMISSED, Outcome.EXPIRED}),
    Status.DECIDED: frozenset({Outcome.PAID}),
}
OUTCOME_GUARDS: dict[Outcome, tuple[Guard, ...]] = {
    Outcome.PAID: (_paid_in_full,),
    Outcome.TRANSFERRED: (_has_transfer,),
    Outcome.EXPIRED: (_limitation_passed,),
}


def record_event(session: Session, case: Case, *, actor: str, reason: str, at: datetime | None = None) -> None:
    """Audit something that happened to a case without a status change (a merge, a booking, a
    refused callback): an audit row whose from/to statuses are empty."""
    from cases.models import AuditLog

    session.add(AuditLog(case_id=case.id, actor=actor, at=at or datetime.now(UTC), reason=reason))


def queue_notice(session: Session, case_id: int, kind: NoticeKind, at: datetime) -> None:
    """The ``render_notice`` outbox row for one notice; never two of one kind for one case."""
    from cases.models import OutboxMessage

    key = f"{RENDER_NOTICE}:{kind.value}:{case_id}"
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
        session.add(
            OutboxMessage(
                kind=RENDER_NOTICE,
                payload={"case_id": case_id, "type": kind.value},
                created_at=at,
                dedupe_key=key,
            )
        )


def transition(
    session: Session,
    case: Case,
    *,
    to: Status,
    actor: str,
    reason: str | None = None,
    outcome: Outcome | None = None,
    at: datetime | None = None,
) -> None:
    """Move ``case`` to ``to``, append the audit row, clear the flags the move satisfies and queue
    the move's notices.

    Raises ``IllegalTransition`` (changing nothing) when the table forbids the move, when a guard
    refuses it (``GUARDS``, ``OUTCOME_GUARDS``), when a rejection has no reason, or when closing
    has no outcome allowed from the current status (or a non-closing move has one). Does not
    commit: the caller's transaction makes the change, its audit and its outbox rows durable
    together.
    """
    from cases.models import AuditLog, DeadlineFlag  # models import this module's enums

    target = Status(to)
    current = Status(case.status)
    moment = at or datetime.now(UTC)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    if not actor:
        raise IllegalTransition(current, target, "expected an actor, got none")
    if target in REASON_REQUIRED and not reason:
        raise IllegalTransition(current, target, "a reason is required")
    if (target == Status.CLOSED) != (outcome is not None):
        raise IllegalTransition(current, target, "an outcome is required exactly when closing")
    guards = GUARDS.get(target, ())
    if outcome is not None:
        outcome = Outcome(outcome)
        if outcome not in CLOSE_OUTCOMES.get(current, frozenset()):
            raise IllegalTransition(current, target, f"a {current} case cannot close as {outcome}")
        guards = guards + OUTCOME_GUARDS.get(outcome, ())
    for guard in guards:
        why = guard(session, case, moment)
        if why is not None:
            raise IllegalTransition(current, target, why)

    case.status = target
    case.status_changed_at = moment
    case.updated_at = moment
    if target == Status.NOTIFIED:
        case.notified_at = moment
    if outcome is not None:
        case.outcome = outcome
    session.add(AuditLog(case_id=case.id, actor=actor, at=moment, from_status=current, to_status=target, reason=reason))
    notices = list(EFFECTS.get(target, ())) + list(OUTCOME_EFFECTS.get(outcome, ()) if outcome else ())
    clears = CLEARS.get(target, frozenset())
    if clears:
        open_flags = session.scalars(
            select(DeadlineFlag).where(
                DeadlineFlag.case_id == case.id,
                DeadlineFlag.cleared_at.is_(None),
                DeadlineFlag.kind.in_([k.value for k in clears]),
            )
        ).all()
        for flag in open_flags:
            flag.cleared_at = moment
            if flag.kind == FlagKind.WARNING:  # the vehicle may be inspected/registered again
                notices.append(NoticeKind.WARNING_ENDED)
    for kind in notices:
        queue_notice(session, case.id, kind, moment)
    session.flush()


def transition_many(
    session: Session,
    case_ids: Sequence[int],
    *,
    from_status: Status,
    to: Status,
    actor: str,
    reason: str,
    at: datetime | None = None,
) -> None:
    """``transition`` for many cases in one move of the same kind, in two statements (bulk intake).

    Only for moves that have no guard, no outcome, no notice and clear no flag (detected ->
    extracted): anything else goes through ``transition`` one case at a time. Raises
    ``IllegalTransition``, changing nothing, when the table forbids the move or a case is not in
    ``from_status``.
    """
    from cases.models import AuditLog, Case

    current, target = Status(from_status), Status(to)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    if target in GUARDS or target in EFFECTS or target in CLEARS or target in REASON_REQUIRED or target in TERMINAL:
        raise IllegalTransition(current, target, "this move has guards or effects: use transition() per case")
    if not actor:
        raise IllegalTransition(current, target, "expected an actor, got none")
    if not case_ids:
        return
    moment = at or datetime.now(UTC)
    ids = list(case_ids)
    table = cast(Table, Case.__table__)
    ready = session.scalar(
        select(func.count()).select_from(table).where(table.c.id.in_(ids), table.c.status == current.value)
    )
    if ready != len(set(ids)):
        raise IllegalTransition(
            current, target, f"{len(set(ids)) - (ready or 0)} of {len(set(ids))} cases are not {current}"
        )
    session.execute(
        update(table)
        .where(table.c.id.in_(ids), table.c.status == current.value)
        .values(status=target.value, status_changed_at=moment, updated_at=moment)
    )
    session.execute(
        cast(Table, AuditLog.__table__).insert(),
        [
            {
                "case_id": i,
                "actor": actor,
                "at": moment,
                "from_status": current.value,
                "to_status": target.value,
                "reason": reason,
            }
            for i in ids
        ],
    )
