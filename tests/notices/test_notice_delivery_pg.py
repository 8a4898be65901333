"""Delivery on the real PostgreSQL: channels fed from the outbox, a real SMTP server (aiosmtpd),
simulated SMS/VNeID gateways over real HTTP; fallback, retries with backoff, attempts and receipts
recorded, and never a second send for one case and notice type."""

from __future__ import annotations

import email
import socket
import sys
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from builders import PII_KEY, REGISTRY_HEADER, violation_event  # noqa: E402
from notice_builders import photo  # noqa: E402

from cases import review  # noqa: E402
from cases.cameras import ensure_unit  # noqa: E402
from cases.intake import ingest_violation  # noqa: E402
from cases.models import Camera, Case, DeliveryAttempt, Notice, NoticeDelivery, OutboxMessage  # noqa: E402
from cases.registry import import_registry_csv  # noqa: E402
from cases.states import Status  # noqa: E402
from detection.evidence_store import FileEvidenceStore  # noqa: E402
from notices.channels import EmailChannel, HttpGatewayChannel, PostalChannel, build_channel  # noqa: E402
from notices.delivery import DeliveryConfig, deliver_pending  # noqa: E402
from notices.gateway_sim import SimulatedGateway  # noqa: E402
from notices.worker import NoticeWorkerConfig, process_outbox  # noqa: E402

pytestmark = pytest.mark.integration
SECRET = "notice-test-secret-0123456789"
T0 = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK queued"


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's readiness check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, "127.0.0.1", port
    finally:
        controller.stop()


def printed_case(factory, store, tmp_path, *, email_addr="an@example.vn", id_number="079123456789"):  # type: ignore[no-untyped-def]
    sha = store.put(photo(), content_type="image/jpeg")
    csv = tmp_path / "registry.csv"
    csv.write_text(
        REGISTRY_HEADER.rstrip("\n") + ",email\n"
        f'"51A-123.45","Nguyễn Văn An","12 Lê Lợi, Phường Sài Gòn","{id_number}","0901234567",'
        f'"car","white","Toyota","{email_addr}"\n',
        encoding="utf-8",
    )
    with factory() as session:
        unit = ensure_unit(session, code="pc08", name="Phòng CSGT", address="459 Trần Hưng Đạo", phone="069 3187 346")
        session.add(Camera(id="cam-01", name="Ngã tư", address="Ngã tư Hai Bà Trưng", unit_id=unit.id))
        session.flush()
        import_registry_csv(session, csv, pii_key=PII_KEY)
        case = ingest_violation(session, violation_event(evidence={"at": sha}))
        review.approve(session=session, case_id=case.id, actor="officer1")
        session.commit()
        case_id = case.id
    assert process_outbox(factory, store, NoticeWorkerConfig(secret_key=SECRET, pii_key=PII_KEY)) == 1
    return case_id


def attempts(factory, case_id):  # type: ignore[no-untyped-def]
    with factory() as session:
        rows = session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.case_id == case_id)).all()
        return [(a.channel, a.attempt, a.ok, a.receipt or a.error) for a in rows]


def test_vneid_refusal_falls_back_to_email_over_real_smtp(pg_factory, tmp_path, smtp):
    inbox, host, port = smtp
    store = FileEvidenceStore(tmp_path / "store")
    case_id = printed_case(pg_factory, store, tmp_path)
    config = DeliveryConfig(pii_key=PII_KEY, order=("vneid", "email", "postal"))
    with SimulatedGateway("vneid") as vneid:
        vneid.state.fail_next.append(404)  # no VNeID account for this citizen: permanent
        channels = {
            "vneid": HttpGatewayChannel(name="vneid", url=vneid.url, attach_pdf=True),
            "email": EmailChannel(host=host, port=port),
            "postal": PostalChannel(),
        }
        assert deliver_pending(pg_factory, channels, store, config, now=T0) == 1
        assert deliver_pending(pg_factory, channels, store, config, now=T0 + timedelta(hours=1)) == 0
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "an@example.vn" and "Thông báo vi phạm giao thông" in message["Subject"]
    pdf = next(part for part in message.iter_attachments()).get_content()
    assert pdf.startswith(b"%PDF")
    log = attempts(pg_factory, case_id)
    assert [(c, ok) for c, _, ok, _ in log] == [("vneid", False), ("email", True)]
    assert "unavailable" in log[0][3] and log[1][3] == message["Message-ID"]
    with pg_factory() as session:
        delivery = session.scalars(select(NoticeDelivery).where(NoticeDelivery.case_id == case_id)).one()
        assert (delivery.status, delivery.channel, delivery.receipt) == ("sent", "email", message["Message-ID"])
        assert session.get(Case, case_id).status == Status.NOTIFIED


def test_transient_failures_back_off_then_succeed(pg_factory, tmp_path):
    store = FileEvidenceStore(tmp_path / "store")
    case_id = printed_case(pg_factory, store, tmp_path)
    config = DeliveryConfig(pii_key=PII_KEY, order=("sms", "postal"), max_attempts=3, backoff_base_s=30)
    with SimulatedGateway("sms") as sms:
        sms.state.fail_next.extend([503, 503])
        channels = {"sms": HttpGatewayChannel(name="sms", url=sms.url), "postal": PostalChannel()}
        assert deliver_pending(pg_factory, channels, store, config, now=T0) == 0  # 503: wait 30 s
        assert deliver_pending(pg_factory, channels, store, config, now=T0 + timedelta(seconds=10)) == 0
        assert sms.state.requests == 1  # still backing off: not tried again
        assert deliver_pending(pg_factory, channels, store, config, now=T0 + timedelta(seconds=31)) == 0  # 503: 60 s
        with pg_factory() as session:
            delivery = session.scalars(select(NoticeDelivery)).one()
            assert delivery.next_attempt_at == T0 + timedelta(seconds=31 + 60)
        assert deliver_pending(pg_factory, channels, store, config, now=T0 + timedelta(seconds=92)) == 1
        assert len(sms.state.accepted) == 1 and sms.state.accepted[0]["to"] == "0901234567"
        assert "/verify/" in sms.state.accepted[0]["text"]
    log = attempts(pg_factory, case_id)
    assert [(c, n, ok) for c, n, ok, _ in log] == [("sms", 1, False), ("sms", 2, False), ("sms", 3, True)]


def test_a_dead_channel_falls_back_to_post_with_a_tracking_number(pg_factory, tmp_path):
    store = FileEvidenceStore(tmp_path / "store")
    case_id = printed_case(pg_factory, store, tmp_path, email_addr="")
    # nothing listens on port 9: connection refused, a transient error, twice, then the post
    config = DeliveryConfig(pii_key=PII_KEY, order=("email", "sms", "postal"), max_attempts=2, backoff_base_s=1)
    channels = {
        "email": EmailChannel(host="127.0.0.1", port=9, timeout_s=1),
        "sms": HttpGatewayChannel(name="sms", url="http://127.0.0.1:9/send", timeout_s=1),
        "postal": PostalChannel(),
    }
    now = T0
    for _ in range(4):
        deliver_pending(pg_factory, channels, store, config, now=now)
        now += timedelta(minutes=5)
    log = attempts(pg_factory, case_id)
    assert [c for c, *_ in log] == ["email", "sms", "sms", "postal"]  # no address: straight on
    with pg_factory() as session:
        delivery = session.scalars(select(NoticeDelivery)).one()
        assert delivery.status == "sent" and delivery.channel == "postal"
        assert delivery.tracking_number and delivery.tracking_number.endswith("VN")
        assert delivery.batch_date == "2026-03-15" and delivery.batch_unit_id is not None


def test_no_channel_left_marks_the_delivery_failed(pg_factory, tmp_path):
    store = FileEvidenceStore(tmp_path / "store")
    printed_case(pg_factory, store, tmp_path, email_addr="")
    config = DeliveryConfig(pii_key=PII_KEY, order=("email", "telegram"))
    assert deliver_pending(pg_factory, {"email": EmailChannel(host="127.0.0.1")}, store, config, now=T0) == 1
    with pg_factory() as session:
        assert session.scalars(select(NoticeDelivery)).one().status == "failed"
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deliver_notice")).one()
        assert row.processed_at is not None and "no channel could deliver" in row.last_error


def test_a_notice_is_never_sent_twice(pg_factory, tmp_path, smtp):
    inbox, host, port = smtp
    store = FileEvidenceStore(tmp_path / "store")
    case_id = printed_case(pg_factory, store, tmp_path)
    config = DeliveryConfig(pii_key=PII_KEY, order=("email",))
    channels = {"email": EmailChannel(host=host, port=port)}
    assert deliver_pending(pg_factory, channels, store, config, now=T0) == 1
    with pg_factory() as session:  # a replayed outbox row (crash before it was marked) ...
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deliver_notice")).one()
        row.processed_at = None
        session.commit()
    assert deliver_pending(pg_factory, channels, store, config, now=T0) == 1
    assert len(inbox.messages) == 1  # ... sends nothing
    with pg_factory() as session:  # and the database itself refuses a second delivery row
        first = session.scalars(select(NoticeDelivery)).one()
        session.add(NoticeDelivery(case_id=case_id, notice_id=first.notice_id, notice_type="first", status="pending"))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        other = Notice(case_id=case_id, type="decision", pdf_sha256="0" * 64, pdf_key="k", token="t-decision")
        session.add(other)
        session.flush()  # a second notice may exist; a second delivery of the *first* notice may not
        session.add(NoticeDelivery(case_id=case_id, notice_id=other.id, notice_type="first", status="pending"))
        with pytest.raises(IntegrityError, match="uq_notice_deliveries_case_type"):
            session.flush()
        session.rollback()


def test_unknown_channel_type_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"expected a channel type in \['email', 'postal', 'sms', 'vneid'\]"):
        build_channel("fax")
    assert build_channel("postal").name == "postal"


def test_channels_from_settings():
    from notices.channels import channels_from
    from phatnguoi.settings import NoticesSettings

    assert set(channels_from(NoticesSettings())) == {"postal"}
    built = channels_from(
        NoticesSettings(channels=("vneid", "email", "postal"), smtp_host="mail.local", vneid_gateway_url="http://g/x")
    )
    assert list(built) == ["vneid", "email", "postal"] and built["email"].host == "mail.local"
    with pytest.raises(ValueError, match="notices.sms_gateway_url is empty"):
        channels_from(NoticesSettings(channels=("sms",)))
