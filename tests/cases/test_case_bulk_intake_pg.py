"""Set-based batch intake on the real PostgreSQL gives exactly what one-by-one intake gives:
the same cases, merges, evidence, holds and audit trail; a replayed batch creates nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from builders import WHEN, violation_event
from sqlalchemy import func, select

from cases.bulk_intake import ingest_batch
from cases.intake import IntakePolicy, ingest_violation
from cases.models import AuditLog, CameraStatus, Case, Evidence, MergedDetection
from detection.types import Rule

pytestmark = pytest.mark.integration
POLICY = IntakePolicy(merge_window_s=300)


def batch():  # type: ignore[no-untyped-def]
    at = lambda s: WHEN + timedelta(seconds=s)  # noqa: E731
    return [
        violation_event(track="a1", occurred_at=at(0)),
        violation_event(track="a2", occurred_at=at(60)),  # merges into a1 (same batch)
        violation_event(track="a3", occurred_at=at(900)),  # outside the window: its own case
        violation_event(track="b1", rule=Rule.WRONG_WAY, occurred_at=at(30)),
        violation_event(track="c1", plate=None, occurred_at=at(5)),  # unreadable: never merges
        violation_event(track="c2", plate=None, occurred_at=at(6)),
        violation_event(track="d1", plate="59X123456", vehicle_class="motorbike", roles=("before", "plate")),
        violation_event(track="h1", camera_id="cam-sick", plate="51F99999", occurred_at=at(10)),  # held
        violation_event(track="e1", plate="51G11111", occurred_at=at(120)),  # merges into the earlier case
        violation_event(track="a1", occurred_at=at(0)),  # the same event twice in one batch
    ]


def snapshot(session):  # type: ignore[no-untyped-def]
    vid = dict(session.execute(select(Case.id, Case.violation_id)).all())
    cases = sorted(
        (
            c.violation_id,
            c.status,
            c.plate_key or "",
            c.held_for_review,
            c.hold_reason or "",
            re.sub(r"\d{6}$", "N", c.case_number),
            c.notify_by,
        )
        for c in session.scalars(select(Case))
    )
    merges = sorted((m.violation_id, vid[m.case_id]) for m in session.scalars(select(MergedDetection)))
    evidence = sorted(
        (vid[e.case_id], re.sub(r"^m\d+:", "m:", e.role), e.sha256) for e in session.scalars(select(Evidence))
    )
    audit = sorted(
        (
            vid[a.case_id],
            a.actor,
            a.from_status or "",
            a.to_status or "",
            re.sub(r"\d{4}-\d\d-\d\dT[^,]+", "T", a.reason or ""),
        )
        for a in session.scalars(select(AuditLog))
    )
    return cases, merges, evidence, audit


def prepare(session) -> None:  # type: ignore[no-untyped-def]
    ingest_violation(session, violation_event(track="e0", plate="51G11111"), policy=POLICY)  # already open
    ingest_violation(session, violation_event(track="s0", camera_id="cam-sick", plate="51H22222"), policy=POLICY)
    session.add(
        CameraStatus(camera_id="cam-sick", verdict="frozen", detail="same frame", updated_at=WHEN, last_frame_at=WHEN)
    )
    session.flush()


def test_batch_equals_one_by_one(pg_session):
    prepare(pg_session)
    events = batch()
    for event in sorted(events, key=lambda e: (e.occurred_at, e.violation_id)):
        ingest_violation(pg_session, event, policy=POLICY, now=WHEN)
    expected = snapshot(pg_session)
    pg_session.rollback()

    prepare(pg_session)
    result = ingest_batch(pg_session, events, policy=POLICY, now=WHEN)
    assert snapshot(pg_session) == expected
    assert (result.created, result.merged, result.skipped) == (7, 2, 1)
    held = pg_session.scalar(select(Case).where(Case.plate_key == "51F99999"))
    assert held.held_for_review and "frozen" in held.hold_reason


def test_replayed_batch_creates_nothing(pg_session):
    events = batch()
    ingest_batch(pg_session, events, policy=POLICY)
    counts = [
        pg_session.scalar(select(func.count()).select_from(m)) for m in (Case, MergedDetection, Evidence, AuditLog)
    ]
    again = ingest_batch(pg_session, events, policy=POLICY)
    assert (again.created, again.merged, again.skipped) == (0, 0, len(events))
    assert [
        pg_session.scalar(select(func.count()).select_from(m)) for m in (Case, MergedDetection, Evidence, AuditLog)
    ] == counts


def test_a_bad_event_stops_the_batch_before_any_write(pg_session):
    events = [violation_event(track="ok"), violation_event(track="bad", camera_id="c" * 65)]
    with pytest.raises(ValueError, match="camera_id"):
        ingest_batch(pg_session, events, policy=POLICY)
    assert pg_session.scalar(select(func.count()).select_from(Case)) == 0
