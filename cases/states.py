"""The case state machine: the six legal steps (shared/ARCHITECTURE.md) as a table, and the one
guarded function that changes a case's status.

``transition`` is the only code that assigns ``Case.status``. It refuses an illegal move before
touching anything, stamps the time, appends the audit row and writes the move's side effects to
the outbox, all in the caller's transaction: commit once and all of it is durable, roll back and
none of it happened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

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

# Side effects of arriving in a status: outbox kinds written in the same transaction.
EFFECTS: dict[Status, tuple[str, ...]] = {
    Status.FILED: ("render_notice",),
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
    """Move ``case`` to ``to``, append the audit row and queue the move's side effects.

    Raises ``IllegalTransition`` (changing nothing) when the table forbids the move, when a
    rejection has no reason, or when closing has no outcome (or a non-closing move has one).
    Does not commit: the caller's transaction makes the change, its audit and its outbox rows
    durable together.
    """
    from cases.models import AuditLog, OutboxMessage  # models import this module's enums

    target = Status(to)
    current = Status(case.status)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    if not actor:
        raise IllegalTransition(current, target, "expected an actor, got none")
    if target in REASON_REQUIRED and not reason:
        raise IllegalTransition(current, target, "a reason is required")
    if (target == Status.CLOSED) != (outcome is not None):
        raise IllegalTransition(current, target, "an outcome is required exactly when closing")
    moment = at or datetime.now(UTC)

    case.status = target
    case.status_changed_at = moment
    case.updated_at = moment
    if outcome is not None:
        case.outcome = Outcome(outcome)
    session.add(
        AuditLog(
            case_id=case.id, actor=actor, at=moment, from_status=current, to_status=target, reason=reason
        )
    )
    for kind in EFFECTS.get(target, ()):
        session.add(
            OutboxMessage(
                kind=kind,
                payload={"case_id": case.id, "status": str(target)},
                created_at=moment,
                dedupe_key=f"{kind}:{case.id}",
            )
        )
    session.flush()
