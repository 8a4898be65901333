"""Review on the real PostgreSQL: approve identifies the owner and computes the fine, writes the
outbox row; reject needs a reason from the list; errors change nothing."""

from __future__ import annotations

import pytest
from builders import PII_KEY, registry_csv, violation_event
from sqlalchemy import select

from cases import review
from cases.intake import ingest_violation
from cases.models import AuditLog, OutboxMessage
from cases.registry import import_registry_csv
from cases.states import Status
from detection.types import Rule

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(pg_session, tmp_path):  # type: ignore[no-untyped-def]
    import_registry_csv(pg_session, registry_csv(tmp_path / "registry.csv"), pii_key=PII_KEY)


def test_approve_files_the_case_with_owner_and_fine(pg_session, registry):
    case = ingest_violation(pg_session, violation_event())
    assert [c.id for c in review.queue(session=pg_session, limit=10)] == [case.id]
    review.approve(session=pg_session, case_id=case.id, actor="officer1")
    pg_session.commit()
    assert case.status == Status.FILED
    assert case.vehicle is not None and case.vehicle.plate_printed == "51A-123.45"
    assert (case.fine_min_vnd, case.fine_max_vnd, case.points) == (18_000_000, 20_000_000, 4)
    assert case.legal_reference == "điểm b khoản 9 Điều 6 Nghị định 168/2024/NĐ-CP"
    assert case.tariff_version == "ND168-2024" and case.plate_confirmed == "51A12345"
    outbox = pg_session.scalars(select(OutboxMessage)).all()
    assert [(o.kind, o.payload["case_id"], o.processed_at) for o in outbox] == [
        ("render_notice", case.id, None)
    ]
    assert review.queue(session=pg_session, limit=10) == []


def test_approve_with_a_corrected_plate_records_the_correction(pg_session, registry):
    case = ingest_violation(
        pg_session, violation_event(track="moto", plate="59X123465", vehicle_class="motorbike")
    )
    review.approve(session=pg_session, case_id=case.id, actor="officer1", plate="59-X1 234.56")
    assert case.plate_confirmed == "59X123456" and case.plate_read == "59X123465"
    assert (case.fine_min_vnd, case.points) == (4_000_000, 4)
    last = pg_session.scalars(
        select(AuditLog).where(AuditLog.case_id == case.id).order_by(AuditLog.id.desc())
    ).first()
    assert "corrected from 59X123465 to 59X123456" in last.reason


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"plate": "51B99999"}, "not in the vehicle registry"),
        ({"plate": "NOT A PLATE"}, "expected a Vietnamese plate"),
    ],
)
def test_approve_refuses_and_changes_nothing(pg_session, registry, kwargs, message):
    case = ingest_violation(pg_session, violation_event(track="x"))
    with pytest.raises(review.ReviewError, match=message):
        review.approve(session=pg_session, case_id=case.id, actor="officer1", **kwargs)
    assert case.status == Status.EXTRACTED and case.fine_min_vnd is None
    assert pg_session.scalars(select(OutboxMessage)).all() == []


def test_approve_without_a_plate_asks_for_one(pg_session, registry):
    case = ingest_violation(pg_session, violation_event(track="blur", plate=None))
    case.status = Status.EXTRACTED
    with pytest.raises(review.ReviewError, match="enter it"):
        review.approve(session=pg_session, case_id=case.id, actor="officer1")


def test_speeding_below_every_bracket_cannot_be_approved(pg_session, registry):
    case = ingest_violation(
        pg_session, violation_event(track="slow", rule=Rule.SPEEDING, speed_kmh=52, speed_limit_kmh=50)
    )
    with pytest.raises(review.ReviewError, match="no fine applies"):
        review.approve(session=pg_session, case_id=case.id, actor="officer1")


def test_reject_with_reason_from_the_list(pg_session):
    case = ingest_violation(pg_session, violation_event(track="fp"))
    with pytest.raises(review.ReviewError, match="reject reason"):
        review.reject(session=pg_session, case_id=case.id, actor="officer1", reason="bored")
    assert case.status == Status.EXTRACTED
    review.reject(
        session=pg_session, case_id=case.id, actor="officer1", reason="false_detection", note="shadow"
    )
    assert case.status == Status.REJECTED and case.reject_reason == "false_detection"
    with pytest.raises(review.ReviewError, match="only a case in review"):
        review.approve(session=pg_session, case_id=case.id, actor="officer1")


def test_search_by_plate_and_vehicle_type(pg_session):
    car = ingest_violation(pg_session, violation_event(track="c1"))
    ingest_violation(pg_session, violation_event(track="m1", plate="59X123456", vehicle_class="motorbike"))
    assert [
        c.id for c in review.search_by_plate(session=pg_session, plate="51a-123.45", vehicle_type="car")
    ] == [car.id]
    assert review.search_by_plate(session=pg_session, plate="51A12345", vehicle_type="motorbike") == []
    assert (
        len(review.search_by_plate(session=pg_session, plate="59-X1 234.56", vehicle_type="motorbike")) == 1
    )
    with pytest.raises(review.ReviewError, match="vehicle type"):
        review.search_by_plate(session=pg_session, plate="51A12345", vehicle_type="boat")
