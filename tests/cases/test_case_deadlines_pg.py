"""The deadline job on the real PostgreSQL: it raises each flag once (with its audit row, and the
warning notice for the 20-day flag), never changes a status, and the desk lists what is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from case_factory import arrange
from sqlalchemy import func, select

from cases.deadlines import DeadlinePolicy, days_late, due, late_interest, run_deadlines
from cases.models import AuditLog, Case, DeadlineFlag, Decision, OutboxMessage
from cases.states import Outcome, Status, transition
from cases.types import FlagKind

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)


def flags(session, case_id: int) -> dict[str, DeadlineFlag]:  # type: ignore[no-untyped-def]
    return {f.kind: f for f in session.scalars(select(DeadlineFlag).where(DeadlineFlag.case_id == case_id))}


def test_each_deadline_raises_its_flag_once_and_changes_no_status(pg_session):
    late_notice = arrange(pg_session, Status.EXTRACTED, expired=False)  # notify_by = WHEN + 10 days: passed
    on_time = arrange(pg_session, Status.FILED, expired=False)
    on_time.notify_by = NOW + timedelta(days=2)
    warned = arrange(pg_session, Status.NOTIFIED, expired=False)
    warned.notify_by, warned.notified_at = NOW, NOW - timedelta(days=21)
    not_yet = arrange(pg_session, Status.RESOLVING, expired=False)
    not_yet.notify_by, not_yet.notified_at = NOW, NOW - timedelta(days=19)
    unpaid = arrange(pg_session, Status.DECIDED, expired=False)  # pay_by = WHEN + 10 days
    old = arrange(pg_session, Status.NOTIFIED)  # expires_at = WHEN: passed
    old.notified_at = NOW - timedelta(days=1)
    pg_session.flush()
    statuses = {c.id: c.status for c in (late_notice, on_time, warned, not_yet, unpaid, old)}

    result = run_deadlines(pg_session, now=NOW)
    pg_session.commit()
    assert result.raised == {
        FlagKind.NOTIFY_OVERDUE: 1,
        FlagKind.WARNING: 1,
        FlagKind.PAYMENT_OVERDUE: 1,
        FlagKind.EXPIRY: 1,  # only `old`: arrange() left the others unexpired
    }
    assert set(flags(pg_session, late_notice.id)) == {"notify_overdue"}
    assert flags(pg_session, late_notice.id)["notify_overdue"].due_at == late_notice.notify_by
    assert flags(pg_session, on_time.id) == {} and flags(pg_session, not_yet.id) == {}
    assert set(flags(pg_session, warned.id)) == {"warning"}
    assert flags(pg_session, warned.id)["warning"].due_at == warned.notified_at + timedelta(days=20)
    assert set(flags(pg_session, unpaid.id)) == {"payment_overdue"}
    assert set(flags(pg_session, old.id)) == {"expiry"}
    assert {c.id: c.status for c in pg_session.scalars(select(Case))} == statuses  # nothing moved
    outbox = pg_session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "render_notice")).all()
    assert [o.payload for o in outbox] == [{"case_id": warned.id, "type": "warning"}]
    raised_audits = pg_session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.actor == "system:deadlines")
    )
    assert raised_audits == 4

    again = run_deadlines(pg_session, now=NOW + timedelta(hours=1))
    assert again.total_raised == 0
    assert pg_session.scalar(select(func.count()).select_from(DeadlineFlag)) == 4


def test_closing_clears_flags_and_the_desk_lists_only_open_ones_of_the_unit(pg_session):
    from cases.cameras import ensure_unit

    unit = ensure_unit(pg_session, code="pc08", name="Phòng CSGT")
    other = ensure_unit(pg_session, code="xa", name="Công an xã")
    pg_session.flush()
    mine = arrange(pg_session, Status.DECIDED, expired=False)
    theirs = arrange(pg_session, Status.EXTRACTED, expired=False)
    mine.resolving_unit_id, theirs.resolving_unit_id = unit.id, other.id
    pg_session.flush()
    run_deadlines(pg_session, now=NOW)
    assert [(i.case.id, i.flag.kind) for i in due(session=pg_session, unit=unit.id)] == [(mine.id, "payment_overdue")]
    assert {i.case.id for i in due(session=pg_session)} == {mine.id, theirs.id}
    transition(pg_session, mine, to=Status.CLOSED, outcome=Outcome.PAID, actor="payment", at=NOW)
    assert due(session=pg_session, unit=unit.id) == []
    # a case that became final by another path is cleared by the job's safety net
    theirs.status = Status.REJECTED
    pg_session.flush()
    assert run_deadlines(pg_session, now=NOW).cleared == 1
    assert due(session=pg_session) == []


@pytest.mark.parametrize(
    ("days_after", "expected_days", "expected_interest"),
    [(0, 0, 0), (1, 1, 9_000), (5, 5, 45_000), (30, 30, 270_000)],
)
def test_late_interest_is_005_percent_per_day(days_after, expected_days, expected_interest):
    pay_by = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
    paid = pay_by + timedelta(days=days_after)
    assert days_late(pay_by, paid) == expected_days
    assert late_interest(18_000_000, pay_by, paid, DeadlinePolicy()) == expected_interest


def test_deadline_cli_runs_the_job(sqlite_url):
    from click.testing import CliRunner

    from phatnguoi.cli import main

    result = CliRunner().invoke(main, ["cases", "deadlines", "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "raised notify_overdue 0, warning 0, payment_overdue 0, expiry 0; cleared 0" in result.output


def test_decision_rows_feed_the_payment_flag(pg_session):
    case = arrange(pg_session, Status.DECIDED, expired=False)
    decision = pg_session.scalar(select(Decision).where(Decision.case_id == case.id))
    decision.pay_by = NOW + timedelta(days=1)
    pg_session.flush()
    assert run_deadlines(pg_session, now=NOW).raised[FlagKind.PAYMENT_OVERDUE] == 0
    assert run_deadlines(pg_session, now=NOW + timedelta(days=2)).raised[FlagKind.PAYMENT_OVERDUE] == 1


def test_expiry_is_not_raised_once_decided(pg_session):
    decided = arrange(pg_session, Status.DECIDED)  # expires_at passed, but the decision was issued
    resolving = arrange(pg_session, Status.RESOLVING)
    result = run_deadlines(pg_session, now=NOW)
    assert result.raised[FlagKind.EXPIRY] == 1
    assert "expiry" not in flags(pg_session, decided.id) and "expiry" in flags(pg_session, resolving.id)
