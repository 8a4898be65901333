"""The state machine as a table: completeness, reachability, finality, and the guarded function."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

import pytest
from builders import violation_event
from sqlalchemy import func, select

from cases.intake import ingest_violation
from cases.models import AuditLog, Case, OutboxMessage
from cases.states import EFFECTS, TERMINAL, TRANSITIONS, IllegalTransition, Outcome, Status, transition


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


def test_rejected_only_from_review():
    assert {s for s, t in TRANSITIONS.items() if Status.REJECTED in t} == {Status.DETECTED, Status.EXTRACTED}


def _audit_count(session, case_id):  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.case_id == case_id))


ILLEGAL = [(f, t) for f in Status for t in Status if t not in TRANSITIONS[f]]


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL[:40] + ILLEGAL[-10:])
def test_illegal_move_raises_and_changes_nothing(sqlite_session, from_status, to_status):
    case = ingest_violation(sqlite_session, violation_event())
    case.status = from_status  # arrange the starting point directly (tests only)
    sqlite_session.flush()
    audits, outbox = (
        _audit_count(sqlite_session, case.id),
        sqlite_session.scalar(select(func.count()).select_from(OutboxMessage)),
    )
    with pytest.raises(IllegalTransition) as err:
        transition(
            sqlite_session,
            case,
            to=to_status,
            actor="tester",
            reason="r",
            outcome=Outcome.PAID if to_status == Status.CLOSED else None,
        )
    assert str(from_status) in str(err.value) and str(to_status) in str(err.value)
    assert case.status == from_status
    assert _audit_count(sqlite_session, case.id) == audits
    assert sqlite_session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox


def test_reject_needs_a_reason_and_close_needs_an_outcome(sqlite_session):
    case = ingest_violation(sqlite_session, violation_event())
    with pytest.raises(IllegalTransition, match="reason"):
        transition(sqlite_session, case, to=Status.REJECTED, actor="tester")
    case.status = Status.DECIDED
    with pytest.raises(IllegalTransition, match="outcome"):
        transition(sqlite_session, case, to=Status.CLOSED, actor="tester")
    transition(sqlite_session, case, to=Status.CLOSED, actor="tester", outcome=Outcome.PAID)
    assert case.outcome == Outcome.PAID


def test_legal_move_stamps_time_audits_and_writes_effects_in_one_transaction(sqlite_session):
    case = ingest_violation(sqlite_session, violation_event())
    at = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
    transition(sqlite_session, case, to=Status.FILED, actor="officer1", reason="ok", at=at)
    assert case.status == Status.FILED and case.status_changed_at == at
    last = sqlite_session.scalars(
        select(AuditLog).where(AuditLog.case_id == case.id).order_by(AuditLog.id.desc())
    ).first()
    assert (last.actor, last.from_status, last.to_status, last.reason) == (
        "officer1",
        "extracted",
        "filed",
        "ok",
    )
    kinds = sqlite_session.scalars(select(OutboxMessage.kind)).all()
    assert kinds == list(EFFECTS[Status.FILED])
    sqlite_session.rollback()  # nothing of it survives a rollback
    assert sqlite_session.scalar(select(func.count()).select_from(Case)) == 0
    assert sqlite_session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_audit_rows_are_append_only(sqlite_session):
    from cases.models import AuditIsAppendOnly

    case = ingest_violation(sqlite_session, violation_event())
    sqlite_session.commit()
    row = sqlite_session.scalars(select(AuditLog).where(AuditLog.case_id == case.id)).first()
    row.reason = "rewritten history"
    with pytest.raises(AuditIsAppendOnly):
        sqlite_session.flush()
