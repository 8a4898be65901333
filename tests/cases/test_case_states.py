"""The state machine as a table: completeness, reachability, finality, and the one guarded
function, tested move by move (every legal move, every illegal pair, every guard)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

import pytest
from builders import violation_event
from case_factory import arrange
from sqlalchemy import func, select

from cases.intake import ingest_violation
from cases.models import AuditLog, Case, DeadlineFlag, OutboxMessage
from cases.states import (
    CLOSE_OUTCOMES,
    EFFECTS,
    OUTCOME_EFFECTS,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    Outcome,
    Status,
    transition,
)
from cases.types import FlagKind, NoticeKind

NOW = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


def test_every_status_is_in_the_table():
    assert set(TRANSITIONS) == set(Status)
    for targets in TRANSITIONS.values():
        assert targets <= set(Status)


def test_every_status_is_reachable_from_detected():
    seen, todo = {Status.DETECTED}, deque([Status.DETECTED])
    while todo:
        for nxt in TRANSITIONS[todo.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(Status)


def test_terminal_statuses_are_final():
    assert {Status.REJECTED, Status.CLOSED} == TERMINAL
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()


def test_every_outcome_is_reachable_and_only_where_closing_is_allowed():
    assert set().union(*CLOSE_OUTCOMES.values()) == set(Outcome)
    assert set(CLOSE_OUTCOMES) == {s for s, targets in TRANSITIONS.items() if Status.CLOSED in targets}


def test_rejected_only_from_review():
    assert {s for s, t in TRANSITIONS.items() if Status.REJECTED in t} == {Status.DETECTED, Status.EXTRACTED}


def test_notice_kinds_are_the_notice_worker_types():
    from notices.types import NoticeType

    assert {k.value for k in NoticeKind} == {t.value for t in NoticeType}


def _count(session, model, *where) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _notice_types(session, case_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "render_notice")).all()
    return sorted(r.payload["type"] for r in rows if r.payload["case_id"] == case_id)


LEGAL = [
    (f, t, o)
    for f, targets in TRANSITIONS.items()
    for t in sorted(targets)
    for o in (sorted(CLOSE_OUTCOMES[f]) if t == Status.CLOSED else [None])
]


@pytest.mark.parametrize(("from_status", "to_status", "outcome"), LEGAL)
def test_every_legal_move(rolled_back, from_status, to_status, outcome):
    case = arrange(rolled_back, from_status)
    audits = _count(rolled_back, AuditLog, AuditLog.case_id == case.id)
    transition(rolled_back, case, to=to_status, actor="officer1", reason="because", outcome=outcome, at=NOW)
    assert case.status == to_status and case.outcome == outcome and case.status_changed_at == NOW
    last = rolled_back.scalars(select(AuditLog).where(AuditLog.case_id == case.id).order_by(AuditLog.id.desc())).first()
    assert (last.actor, last.from_status, last.to_status, last.reason) == (
        "officer1",
        from_status,
        to_status,
        "because",
    )
    assert _count(rolled_back, AuditLog, AuditLog.case_id == case.id) == audits + 1
    expected = list(EFFECTS.get(to_status, ())) + list(OUTCOME_EFFECTS.get(outcome, ()) if outcome else ())
    assert _notice_types(rolled_back, case.id) == sorted(k.value for k in expected)


ILLEGAL = [(f, t) for f in Status for t in Status if t not in TRANSITIONS[f]]


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_illegal_move_raises_and_changes_nothing(rolled_back, from_status, to_status):
    case = arrange(rolled_back, from_status)
    before = (_count(rolled_back, AuditLog), _count(rolled_back, OutboxMessage))
    with pytest.raises(IllegalTransition) as err:
        transition(
            rolled_back,
            case,
            to=to_status,
            actor="tester",
            reason="r",
            outcome=Outcome.PAID if to_status == Status.CLOSED else None,
        )
    assert str(from_status) in str(err.value) and str(to_status) in str(err.value)
    assert case.status == from_status
    assert (_count(rolled_back, AuditLog), _count(rolled_back, OutboxMessage)) == before


# (from, to, outcome, what is missing, expected message)
GUARDED = [
    (Status.EXTRACTED, Status.FILED, None, {"owner": False}, "owner is not identified"),
    (Status.EXTRACTED, Status.FILED, None, {"held": True}, "held for review"),
    (Status.RESOLVING, Status.DECIDED, None, {"decision": False}, "no violation record"),
    (Status.DECIDED, Status.CLOSED, Outcome.PAID, {"paid": False}, "cover 0 of 18000000"),
    (Status.NOTIFIED, Status.CLOSED, Outcome.TRANSFERRED, {"transfer": False}, "no transfer"),
    (Status.NOTIFIED, Status.CLOSED, Outcome.EXPIRED, {"expired": False}, "expires only at"),
    (Status.DECIDED, Status.CLOSED, Outcome.DISMISSED, {}, "cannot close as dismissed"),
    (Status.FILED, Status.CLOSED, Outcome.PAID, {}, "cannot close as paid"),
    (Status.EXTRACTED, Status.REJECTED, None, {"no_reason": True}, "reason is required"),
    (Status.RESOLVING, Status.CLOSED, None, {}, "outcome is required"),
    (Status.EXTRACTED, Status.FILED, Outcome.PAID, {}, "outcome is required"),
    (Status.EXTRACTED, Status.FILED, None, {"no_actor": True}, "expected an actor"),
]


@pytest.mark.parametrize(("from_status", "to_status", "outcome", "missing", "message"), GUARDED)
def test_guard_refuses_and_changes_nothing(rolled_back, from_status, to_status, outcome, missing, message):
    held = missing.pop("held", False)
    no_reason = missing.pop("no_reason", False)
    no_actor = missing.pop("no_actor", False)
    case = arrange(rolled_back, from_status, **missing)
    if held:
        case.held_for_review, case.hold_reason = True, "camera cam-01 was covered"
    before = (_count(rolled_back, AuditLog), _count(rolled_back, OutboxMessage), case.status, case.outcome)
    with pytest.raises(IllegalTransition, match=message):
        transition(
            rolled_back,
            case,
            to=to_status,
            actor="" if no_actor else "officer1",
            reason=None if no_reason else "r",
            outcome=outcome,
            at=NOW,
        )
    assert (_count(rolled_back, AuditLog), _count(rolled_back, OutboxMessage), case.status, case.outcome) == before


def test_notified_stamps_the_time_and_clears_the_notify_flag(rolled_back):
    case = arrange(rolled_back, Status.NOTICE_PRINTED)
    rolled_back.add(DeadlineFlag(case_id=case.id, kind=FlagKind.NOTIFY_OVERDUE, due_at=case.notify_by, raised_at=NOW))
    rolled_back.flush()
    transition(rolled_back, case, to=Status.NOTIFIED, actor="notices", at=NOW)
    assert case.notified_at == NOW
    flag = rolled_back.scalar(select(DeadlineFlag).where(DeadlineFlag.case_id == case.id))
    assert flag.cleared_at == NOW


def test_closing_lifts_the_warning_and_queues_warning_ended(rolled_back):
    case = arrange(rolled_back, Status.DECIDED)
    rolled_back.add(DeadlineFlag(case_id=case.id, kind=FlagKind.WARNING, due_at=NOW, raised_at=NOW))
    rolled_back.flush()
    transition(rolled_back, case, to=Status.CLOSED, outcome=Outcome.PAID, actor="payment", at=NOW)
    flag = rolled_back.scalar(select(DeadlineFlag).where(DeadlineFlag.case_id == case.id))
    assert flag.cleared_at == NOW
    assert _notice_types(rolled_back, case.id) == ["warning_ended"]


def test_closing_without_a_warning_sends_no_warning_ended(rolled_back):
    case = arrange(rolled_back, Status.RESOLVING)
    transition(rolled_back, case, to=Status.CLOSED, outcome=Outcome.DISMISSED, actor="sup", reason="stolen", at=NOW)
    assert _notice_types(rolled_back, case.id) == []


def test_legal_move_and_its_effects_vanish_with_a_rollback(sqlite_session):
    case = ingest_violation(sqlite_session, violation_event())
    case.held_for_review = False
    arranged = arrange(sqlite_session, Status.EXTRACTED, track="rb")
    transition(sqlite_session, arranged, to=Status.FILED, actor="officer1", reason="ok", at=NOW)
    assert _notice_types(sqlite_session, arranged.id) == ["first"]
    sqlite_session.rollback()  # nothing of it survives a rollback
    assert _count(sqlite_session, Case) == 0
    assert _count(sqlite_session, OutboxMessage) == 0


def test_audit_rows_are_append_only(sqlite_session):
    from cases.models import AuditIsAppendOnly

    case = ingest_violation(sqlite_session, violation_event())
    sqlite_session.commit()
    row = sqlite_session.scalars(select(AuditLog).where(AuditLog.case_id == case.id)).first()
    row.reason = "rewritten history"
    with pytest.raises(AuditIsAppendOnly):
        sqlite_session.flush()


def test_transition_many_moves_all_or_nothing(rolled_back):
    from cases.states import transition_many

    cases = [arrange(rolled_back, Status.DETECTED) for _ in range(3)]
    straggler = arrange(rolled_back, Status.EXTRACTED)
    before = _count(rolled_back, AuditLog)
    with pytest.raises(IllegalTransition, match="1 of 4 cases are not detected"):
        transition_many(
            rolled_back,
            [c.id for c in [*cases, straggler]],
            from_status=Status.DETECTED,
            to=Status.EXTRACTED,
            actor="system",
            reason="r",
        )
    assert _count(rolled_back, AuditLog) == before
    rolled_back.expire_all()
    assert {c.status for c in cases} == {Status.DETECTED}
    transition_many(
        rolled_back,
        [c.id for c in cases],
        from_status=Status.DETECTED,
        to=Status.EXTRACTED,
        actor="system",
        reason="evidence package complete",
        at=NOW,
    )
    rolled_back.expire_all()
    assert {(c.status, c.status_changed_at) for c in cases} == {(Status.EXTRACTED, NOW)}
    assert _count(rolled_back, AuditLog) == before + 3


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (Status.EXTRACTED, Status.FILED),
        (Status.EXTRACTED, Status.REJECTED),
        (Status.DECIDED, Status.CLOSED),
        (Status.FILED, Status.RESOLVING),
    ],
)
def test_transition_many_refuses_moves_with_guards_effects_or_not_in_the_table(rolled_back, from_status, to_status):
    from cases.states import transition_many

    case = arrange(rolled_back, from_status)
    with pytest.raises(IllegalTransition):
        transition_many(rolled_back, [case.id], from_status=from_status, to=to_status, actor="system", reason="r")
    assert case.status == from_status
