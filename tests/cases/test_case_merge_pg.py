"""Intake on the real PostgreSQL beyond one event: near-duplicates merge into one case (audited,
evidence attached, replay-safe), an unhealthy camera's cases are held for review, and a plate the
registry does not know waits visibly for an officer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import PII_KEY, WHEN, registry_csv, violation_event
from sqlalchemy import func, select

from cases import identification, resolution, review
from cases.intake import IntakePolicy, ingest_violation
from cases.models import AuditLog, Camera, CameraStatus, Case, Evidence, MergedDetection
from cases.registry import import_registry_csv
from cases.states import Status
from detection.types import Rule

pytestmark = pytest.mark.integration
POLICY = IntakePolicy(merge_window_s=300)


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_near_duplicate_merges_into_the_first_case(pg_session):
    first = ingest_violation(pg_session, violation_event(track="a-1"), policy=POLICY)
    later = violation_event(track="a-2", occurred_at=WHEN + timedelta(seconds=90))
    merged = ingest_violation(pg_session, later, policy=POLICY)
    pg_session.commit()
    assert merged is first
    assert count(pg_session, Case) == 1
    row = pg_session.scalar(select(MergedDetection))
    assert (row.violation_id, row.case_id) == (later.violation_id, first.id)
    roles = sorted(pg_session.scalars(select(Evidence.role).where(Evidence.case_id == first.id)))
    assert roles == sorted(
        ["after", "at", "before", "plate"] + [f"m{row.id}:{r}" for r in ("after", "at", "before", "plate")]
    )
    reasons = pg_session.scalars(select(AuditLog.reason).where(AuditLog.case_id == first.id)).all()
    assert any(r.startswith(f"merged near-duplicate detection {later.violation_id}") for r in reasons)
    assert first.status == Status.EXTRACTED  # a merge changes no status


def test_replaying_merged_events_creates_and_attaches_nothing(pg_session):
    events = [violation_event(track=f"r-{i}", occurred_at=WHEN + timedelta(seconds=30 * i)) for i in range(4)]
    for event in events:
        ingest_violation(pg_session, event, policy=POLICY)
    pg_session.commit()
    before = (
        count(pg_session, Case),
        count(pg_session, MergedDetection),
        count(pg_session, Evidence),
        count(pg_session, AuditLog),
    )
    assert before[:2] == (1, 3)
    assert [ingest_violation(pg_session, e, policy=POLICY) for e in events] == [None] * 4
    pg_session.commit()
    assert (
        count(pg_session, Case),
        count(pg_session, MergedDetection),
        count(pg_session, Evidence),
        count(pg_session, AuditLog),
    ) == before


@pytest.mark.parametrize(
    "other",
    [
        {"occurred_at": WHEN + timedelta(minutes=10)},  # outside the window
        {"rule": Rule.WRONG_WAY},  # another act
        {"camera_id": "cam-02"},  # another place
        {"plate": "59X123456", "vehicle_class": "motorbike"},  # another vehicle
    ],
)
def test_different_acts_stay_separate_cases(pg_session, other):
    ingest_violation(pg_session, violation_event(track="s-1"), policy=POLICY)
    ingest_violation(pg_session, violation_event(track="s-2", **other), policy=POLICY)
    assert count(pg_session, Case) == 2 and count(pg_session, MergedDetection) == 0


def test_unreadable_plates_never_merge(pg_session):
    ingest_violation(pg_session, violation_event(track="u-1", plate=None), policy=POLICY)
    ingest_violation(pg_session, violation_event(track="u-2", plate=None), policy=POLICY)
    assert count(pg_session, Case) == 2


def test_unhealthy_camera_holds_its_cases_until_a_supervisor_releases_them(pg_session, tmp_path):
    import_registry_csv(pg_session, registry_csv(tmp_path / "registry.csv"), pii_key=PII_KEY)
    ingest_violation(pg_session, violation_event(track="h-0", camera_id="cam-h"))  # creates the camera row
    pg_session.add(
        CameraStatus(camera_id="cam-h", verdict="covered", detail="lens covered", updated_at=WHEN, last_frame_at=WHEN)
    )
    pg_session.flush()
    case = ingest_violation(pg_session, violation_event(track="h-1", camera_id="cam-h", rule=Rule.WRONG_WAY))
    assert case.held_for_review and "covered" in case.hold_reason
    with pytest.raises(review.ReviewError, match="held for review"):
        review.approve(session=pg_session, case_id=case.id, actor="officer1")
    assert case.status == Status.EXTRACTED
    resolution.release_hold(session=pg_session, case_id=case.id, actor="sup1", note="images checked, sharp")
    review.approve(session=pg_session, case_id=case.id, actor="officer1")
    assert case.status == Status.FILED and not case.held_for_review


def test_healthy_camera_holds_nothing(pg_session):
    ingest_violation(pg_session, violation_event(track="g-0", camera_id="cam-g"))
    pg_session.add(CameraStatus(camera_id="cam-g", verdict="healthy", updated_at=WHEN, last_frame_at=WHEN))
    pg_session.flush()
    case = ingest_violation(pg_session, violation_event(track="g-1", camera_id="cam-g", rule=Rule.WRONG_WAY))
    assert not case.held_for_review and case.hold_reason is None


def test_plate_not_in_registry_waits_visibly_until_the_registry_knows_it(pg_session, tmp_path):
    unknown = ingest_violation(pg_session, violation_event(track="w-1"))
    blurred = ingest_violation(pg_session, violation_event(track="w-2", plate=None))
    mismatch = ingest_violation(pg_session, violation_event(track="w-3", plate="59X123456", vehicle_class="car"))
    import_registry_csv(
        pg_session,
        registry_csv(
            tmp_path / "r.csv",
            [("59-X1 234.56", "Trần Thị Bích", "1 A, TP. HCM", "0", "0", "motorbike", "white", "Honda")],
        ),
        pii_key=PII_KEY,
    )
    waiting = {w.case.id: w.match for w in identification.waiting(session=pg_session)}
    assert waiting == {
        unknown.id: identification.OwnerMatch.NOT_IN_REGISTRY,
        blurred.id: identification.OwnerMatch.UNREADABLE,
        mismatch.id: identification.OwnerMatch.AMBIGUOUS,
    }
    import_registry_csv(pg_session, registry_csv(tmp_path / "all.csv"), pii_key=PII_KEY)
    assert unknown.id not in {w.case.id for w in identification.waiting(session=pg_session)}


@pytest.mark.parametrize("batched", [False, True])
def test_near_duplicates_on_two_consumers_still_merge(pg_schema_engine, batched):
    """Real concurrency: consumer A has inserted the first detection but not committed when
    consumer B reads the second; B waits on the plate's lock and then merges into A's case."""
    import threading

    from sqlalchemy.orm import Session

    from cases.bulk_intake import ingest_batch

    _, _, engine = pg_schema_engine
    camera = f"cam-race-{batched}"
    first = violation_event(camera_id=camera, track="race-a", plate="51K55555")
    second = violation_event(
        camera_id=camera, track="race-b", plate="51K55555", occurred_at=WHEN + timedelta(seconds=40)
    )
    with Session(engine) as session:  # the camera exists: its creation must not serialise A and B
        session.add(Camera(id=camera, name=camera, address=camera))
        session.commit()
    a_inserted, errors = threading.Event(), []

    def ingest(session, event) -> None:  # type: ignore[no-untyped-def]
        if batched:
            ingest_batch(session, [event], policy=POLICY)
        else:
            ingest_violation(session, event, policy=POLICY)

    def consumer_a() -> None:
        try:
            with Session(engine) as session:
                ingest(session, first)
                a_inserted.set()
                threading.Event().wait(1.0)  # B runs now, against our uncommitted case
                session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            a_inserted.set()

    def consumer_b() -> None:
        try:
            a_inserted.wait(10)
            with Session(engine) as session:
                ingest(session, second)
                session.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=consumer_a), threading.Thread(target=consumer_b)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        with Session(engine) as session:
            ids = session.scalars(select(Case.id).where(Case.plate_key == "51K55555")).all()
            merged = session.scalars(select(MergedDetection.violation_id).where(MergedDetection.case_id.in_(ids))).all()
            assert len(ids) == 1 and merged == [second.violation_id]
    finally:
        with Session(engine) as session:  # this test commits for real: clean up after it
            ids = session.scalars(select(Case.id).where(Case.plate_key == "51K55555")).all()
            for table in (MergedDetection, Evidence, AuditLog):
                session.execute(table.__table__.delete().where(table.__table__.c.case_id.in_(ids)))
            session.execute(Case.__table__.delete().where(Case.__table__.c.id.in_(ids)))
            session.execute(Camera.__table__.delete().where(Camera.__table__.c.id == camera))
            session.commit()
