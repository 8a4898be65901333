"""The notice worker on the real PostgreSQL: approve -> outbox -> PDF stored -> NOTICE_PRINTED;
running it again renders nothing new; a failing row is recorded and does not block the others."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from builders import PII_KEY, registry_csv, violation_event  # noqa: E402
from notice_builders import photo  # noqa: E402

from cases import review  # noqa: E402
from cases.cameras import ensure_unit  # noqa: E402
from cases.intake import ingest_violation  # noqa: E402
from cases.models import Camera, Case, Notice, OutboxMessage  # noqa: E402
from cases.registry import import_registry_csv  # noqa: E402
from cases.states import Status  # noqa: E402
from detection.evidence_store import FileEvidenceStore  # noqa: E402
from notices.tokens import verify_token  # noqa: E402
from notices.worker import NoticeWorkerConfig, process_outbox  # noqa: E402

pytestmark = pytest.mark.integration
SECRET = "notice-test-secret-0123456789"


def filed_case(factory, store, tmp_path, track="n1", plate="51A12345"):  # type: ignore[no-untyped-def]
    sha = store.put(photo(), content_type="image/jpeg")
    with factory() as session:
        if session.get(Camera, "cam-01") is None:
            unit = ensure_unit(
                session,
                code="pc08",
                name="Phòng Cảnh sát giao thông",
                address="459 Trần Hưng Đạo",
                phone="069 3187 346",
            )
            session.add(
                Camera(
                    id="cam-01",
                    name="Ngã tư",
                    address="Ngã tư Hai Bà Trưng, TP. Hồ Chí Minh",
                    unit_id=unit.id,
                )
            )
            session.flush()
            import_registry_csv(session, registry_csv(tmp_path / "r.csv"), pii_key=PII_KEY)
        case = ingest_violation(session, violation_event(track=track, plate=plate, evidence={"at": sha}))
        review.approve(session=session, case_id=case.id, actor="officer1")
        session.commit()
        return case.id


def test_outbox_row_becomes_one_stored_notice(pg_factory, tmp_path):
    store = FileEvidenceStore(tmp_path / "store")
    case_id = filed_case(pg_factory, store, tmp_path)
    config = NoticeWorkerConfig(secret_key=SECRET, pii_key=PII_KEY, verify_base_url="https://x.test/verify")
    assert process_outbox(pg_factory, store, config) == 1
    assert process_outbox(pg_factory, store, config) == 0  # nothing left: idempotent
    with pg_factory() as session:
        case = session.get(Case, case_id)
        notices = session.scalars(select(Notice).where(Notice.case_id == case_id)).all()
        assert case.status == Status.NOTICE_PRINTED
        assert len(notices) == 1
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "render_notice")).one()
        assert row.processed_at is not None and row.attempts == 1
        deliver = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deliver_notice")).one()
        assert deliver.payload == {"case_id": case_id, "type": "first"} and deliver.processed_at is None
        pdf = store.get(notices[0].pdf_sha256)
        text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
        assert case.case_number in text and "Nguyễn Văn An" in text and "Ngã tư Hai Bà Trưng" in text
        assert verify_token(SECRET, notices[0].token).case_number == case.case_number


def test_replayed_outbox_row_never_makes_a_second_notice(pg_factory, tmp_path):
    store = FileEvidenceStore(tmp_path / "store")
    case_id = filed_case(pg_factory, store, tmp_path)
    config = NoticeWorkerConfig(secret_key=SECRET, pii_key=PII_KEY)
    process_outbox(pg_factory, store, config)
    with pg_factory() as session:  # simulate a crash after the notice but before the row was marked
        session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "render_notice")).one().processed_at = None
        session.commit()
    assert process_outbox(pg_factory, store, config) == 1
    with pg_factory() as session:
        assert session.scalar(select(func.count()).select_from(Notice).where(Notice.case_id == case_id)) == 1


def test_a_failing_row_is_recorded_and_the_rest_go_on(pg_factory, tmp_path):
    store = FileEvidenceStore(tmp_path / "store")
    bad = filed_case(pg_factory, store, tmp_path, track="bad")
    good = filed_case(pg_factory, store, tmp_path, track="good", plate="59X123456")
    with pg_factory() as session:  # break the first case: its owner is gone from the case
        session.get(Case, bad).vehicle_id = None
        session.commit()
    config = NoticeWorkerConfig(secret_key=SECRET, pii_key=PII_KEY)
    assert process_outbox(pg_factory, store, config) == 1
    with pg_factory() as session:
        rows = {
            r.payload["case_id"]: r
            for r in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "render_notice"))
        }
        assert rows[good].processed_at is not None
        assert rows[bad].processed_at is None and rows[bad].attempts == 1
        assert "no registry vehicle" in rows[bad].last_error
        assert session.get(Case, bad).status == Status.FILED


def test_worker_loop_runs_until_stopped(pg_factory, tmp_path):
    import threading

    from notices.worker import run_notice_worker

    store = FileEvidenceStore(tmp_path / "store")
    case_id = filed_case(pg_factory, store, tmp_path)
    stop = threading.Event()
    timer = threading.Timer(3.0, stop.set)
    timer.start()
    try:
        done = run_notice_worker(
            pg_factory,
            store,
            NoticeWorkerConfig(secret_key=SECRET, pii_key=PII_KEY),
            stop=stop,
            interval_s=0.1,
        )
    finally:
        timer.cancel()
    assert done == 1
    with pg_factory() as session:  # rendered, then delivered by the default channel: the post
        from cases.models import NoticeDelivery

        delivery = session.scalars(select(NoticeDelivery).where(NoticeDelivery.case_id == case_id)).one()
        assert delivery.status == "sent" and delivery.channel == "postal" and delivery.tracking_number
        assert session.get(Case, case_id).status == Status.NOTIFIED


def test_every_notice_type_renders_from_its_outbox_row(pg_factory, tmp_path):
    """The contract with the case pipeline: ``render_notice`` {"case_id", "type"} for each type."""
    from notices.types import NoticeType

    store = FileEvidenceStore(tmp_path / "store")
    case_id = filed_case(pg_factory, store, tmp_path)
    config = NoticeWorkerConfig(secret_key=SECRET, pii_key=PII_KEY)
    assert process_outbox(pg_factory, store, config) == 1  # the first notice
    with pg_factory() as session:
        for kind in list(NoticeType)[1:]:
            session.add(
                OutboxMessage(
                    kind="render_notice",
                    payload={"case_id": case_id, "type": kind.value},
                    dedupe_key=f"test:{kind.value}:{case_id}",
                )
            )
        session.add(
            OutboxMessage(
                kind="render_notice", payload={"case_id": case_id, "type": "fax"}, dedupe_key=f"test:fax:{case_id}"
            )
        )
        session.commit()
    assert process_outbox(pg_factory, store, config) == 4
    expected = {
        "transfer_local": "Kính gửi: Phòng Cảnh sát giao thông",  # the resolving unit
        "warning": "Kính gửi: Cơ quan đăng kiểm; Cơ quan đăng ký xe",
        "warning_ended": "Về việc gỡ cảnh báo phương tiện",
        "decision": "Số tiền phạt 19.000.000 đồng",  # no decision row yet: the middle of 18-20 M
    }
    with pg_factory() as session:
        notices = {n.type: n for n in session.scalars(select(Notice).where(Notice.case_id == case_id))}
        assert set(notices) == {t.value for t in NoticeType}
        for kind, phrase in expected.items():
            text = " ".join(PdfReader(io.BytesIO(store.get(notices[kind].pdf_sha256))).pages[0].extract_text().split())
            assert phrase in text, kind
            assert verify_token(SECRET, notices[kind].token).notice_type == kind
        bad = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"test:fax:{case_id}")).one()
        assert bad.processed_at is None and "expected a notice type" in bad.last_error
