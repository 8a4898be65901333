"""Idempotent intake on the real PostgreSQL: a replayed event creates nothing new, even when two
consumers race on the same event."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from builders import WHEN, violation_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.intake import IntakePolicy, ingest_violation
from cases.models import AuditLog, Case, Evidence
from cases.states import Status
from detection.types import Rule

pytestmark = pytest.mark.integration


def count(session: Session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_new_event_lands_in_review_with_evidence_and_audit(pg_session):
    event = violation_event()
    case = ingest_violation(pg_session, event, policy=IntakePolicy(case_prefix="HCM", notify_days=10))
    pg_session.commit()
    assert case is not None
    assert case.status == Status.EXTRACTED
    assert case.case_number == f"HCM-2026-{case.id:06d}"
    assert case.violation_id == event.violation_id
    assert case.plate_read == "51A12345" and not case.needs_manual_plate
    assert case.notify_by == WHEN + timedelta(days=10)
    assert case.occurred_at == WHEN
    assert {e.role for e in pg_session.scalars(select(Evidence).where(Evidence.case_id == case.id))} == {
        "before",
        "at",
        "after",
        "plate",
    }
    moves = pg_session.execute(
        select(AuditLog.from_status, AuditLog.to_status)
        .where(AuditLog.case_id == case.id)
        .order_by(AuditLog.id)
    ).all()
    assert [tuple(m) for m in moves] == [(None, "detected"), ("detected", "extracted")]


def test_replayed_events_create_nothing_new(pg_session):
    events = [
        violation_event(track=f"{i}-1", rule=rule)
        for i in range(5)
        for rule in (Rule.RED_LIGHT, Rule.WRONG_WAY)
    ]
    created = [ingest_violation(pg_session, e) for e in events]
    pg_session.commit()
    assert all(c is not None for c in created)
    before = (count(pg_session, Case), count(pg_session, Evidence), count(pg_session, AuditLog))
    replayed = [ingest_violation(pg_session, e) for e in events]
    pg_session.commit()
    assert replayed == [None] * len(events)
    assert (count(pg_session, Case), count(pg_session, Evidence), count(pg_session, AuditLog)) == before


def test_incomplete_evidence_stays_detected(pg_session):
    case = ingest_violation(pg_session, violation_event(track="no-at", roles=("before", "plate")))
    assert case is not None and case.status == Status.DETECTED


def test_unreadable_plate_needs_manual_reading(pg_session):
    case = ingest_violation(pg_session, violation_event(track="blur", plate=None))
    assert case is not None and case.needs_manual_plate and case.plate_read is None


def test_two_consumers_racing_on_one_event_create_one_case(pg_schema_engine):
    """Real concurrency: two connections insert the same violation_id; the unique key decides."""
    _, _, engine = pg_schema_engine
    event = violation_event(track="race-1")
    results: list[object] = []
    barrier = threading.Barrier(2)

    def consume() -> None:
        with Session(engine) as session:
            barrier.wait()
            case = ingest_violation(session, event)
            session.commit()
            results.append(case is not None)

    threads = [threading.Thread(target=consume) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(results) == [False, True]
        with Session(engine) as session:
            assert (
                session.scalar(
                    select(func.count()).select_from(Case).where(Case.violation_id == event.violation_id)
                )
                == 1
            )
    finally:
        with Session(engine) as session:  # this test commits for real: clean up after it
            case_id = session.scalar(select(Case.id).where(Case.violation_id == event.violation_id))
            if case_id is not None:
                session.execute(AuditLog.__table__.delete().where(AuditLog.case_id == case_id))
                session.execute(Evidence.__table__.delete().where(Evidence.case_id == case_id))
                session.execute(Case.__table__.delete().where(Case.id == case_id))
                session.commit()


def test_oversized_fields_are_named_not_truncated(pg_session):
    with pytest.raises(ValueError, match="expected camera_id of 1 to 64"):
        ingest_violation(pg_session, violation_event(camera_id="c" * 65))
    case = ingest_violation(pg_session, violation_event(track="long", plate="5" * 30))
    assert case is not None and case.plate_read is None and case.needs_manual_plate


def test_registered_camera_gives_place_and_units(pg_session):
    from cases.cameras import register_cameras
    from ingest.camera import CameraConfig

    config = CameraConfig.model_validate(
        {
            "id": "cam-reg",
            "name": "Ngã tư Lê Duẩn",
            "address": "Ngã tư Lê Duẩn - Pasteur, Phường Sài Gòn, TP. Hồ Chí Minh",
            "gps": {"lat": 10.78, "lon": 106.70},
            "unit": {
                "code": "pc08",
                "name": "Phòng CSGT",
                "address": "459 Trần Hưng Đạo",
                "phone": "069 3187 346",
            },
            "calibration": {
                "points": [
                    {"image": [0, 0], "world": [0, 0]},
                    {"image": [100, 0], "world": [10, 0]},
                    {"image": [100, 100], "world": [10, 10]},
                    {"image": [0, 100], "world": [0, 10]},
                ]
            },
        }
    )
    register_cameras(pg_session, [config])
    register_cameras(pg_session, [config])  # idempotent: an update, not a second row
    case = ingest_violation(pg_session, violation_event(camera_id="cam-reg", track="reg"))
    assert case.place == config.address
    assert case.detecting_unit.code == "pc08" and case.resolving_unit.phone == "069 3187 346"
