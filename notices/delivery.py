"""The delivery worker: performs the ``deliver_notice`` outbox rows the render worker writes.

For each row: find or create the case's ``NoticeDelivery`` for that notice type (unique per case
and type: a notice is never sent twice), lock it, and try the current channel of the configured
order. Success records the receipt (and, for the first notice, moves the case NOTICE_PRINTED ->
NOTIFIED); ``ChannelUnavailable`` falls back to the next channel at once; a transient
``ChannelError`` is retried with exponential backoff (``base * 2**(n-1)``, capped) until
``max_attempts`` on that channel, then falls back. Every try is a ``DeliveryAttempt`` row. When no
channel is left the delivery is ``failed`` and the outbox row keeps the error.

The send happens while the delivery row is locked (``FOR UPDATE``), so two workers cannot send
the same notice; a crash between the send and the commit can repeat a send, which is why each
channel passes a per-(case, type) idempotency key to the receiver.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cases.models import Case, DeliveryAttempt, Notice, NoticeDelivery, OutboxMessage
from cases.registry import owner_details
from cases.states import Status, allowed, transition
from cases.types import VN_TZ, format_vn_time
from detection.evidence_store import EvidenceStore
from notices.channels import ChannelError, ChannelUnavailable, NoticeChannel, Outgoing, Recipient
from notices.types import NoticeType

log = logging.getLogger(__name__)
KIND = "deliver_notice"
ACTOR = "system:delivery"

SUBJECT_VI: dict[NoticeType, str] = {
    NoticeType.FIRST: "Thông báo vi phạm giao thông",
    NoticeType.TRANSFER_LOCAL: "Chuyển hồ sơ vụ việc vi phạm",
    NoticeType.WARNING: "Cảnh báo phương tiện vi phạm",
    NoticeType.WARNING_ENDED: "Gỡ cảnh báo phương tiện",
    NoticeType.DECISION: "Quyết định xử phạt vi phạm hành chính",
}


@dataclass(frozen=True)
class DeliveryConfig:
    pii_key: str
    verify_base_url: str = "http://127.0.0.1:8000/verify"
    order: tuple[str, ...] = ("vneid", "email", "sms", "postal")
    max_attempts: int = 3  # per channel, before falling back
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 3600.0
    # the inspection and registration bodies (warning, warning ended)
    authority: Recipient = field(
        default_factory=lambda: Recipient(
            name="Cơ quan đăng kiểm; Cơ quan đăng ký xe",
            address="Cục Đăng kiểm Việt Nam, 18 Phạm Hùng, Hà Nội",
            email="",
        )
    )

    def backoff(self, attempt: int) -> timedelta:
        """Wait after the ``attempt``-th failed try on a channel: 30 s, 60 s, 120 s, ... capped."""
        return timedelta(seconds=min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(0, attempt - 1)))


def recipient_for(case: Case, notice_type: NoticeType, config: DeliveryConfig) -> Recipient:
    """Whom a notice goes to: the owner, the local police (transfer) or the authorities (warnings)."""
    if notice_type in (NoticeType.FIRST, NoticeType.DECISION):
        if case.vehicle is None:
            raise ValueError(f"case {case.case_number} has no registry vehicle: expected an identified owner")
        owner = owner_details(case.vehicle.owner, pii_key=config.pii_key)
        return Recipient(
            name=owner.name, address=owner.address, email=owner.email, phone=owner.phone, vneid=owner.id_number
        )
    if notice_type == NoticeType.TRANSFER_LOCAL:
        unit = case.resolving_unit
        if unit is None:
            raise ValueError(f"case {case.case_number} has no resolving unit to transfer to")
        return Recipient(name=unit.name, address=unit.address, phone="")
    return config.authority


def outgoing_for(
    delivery: NoticeDelivery, case: Case, notice: Notice, store: EvidenceStore, config: DeliveryConfig
) -> Outgoing:
    notice_type = NoticeType(notice.type)
    verify_url = f"{config.verify_base_url.rstrip('/')}/{notice.token}"
    subject = f"{SUBJECT_VI[notice_type]} số {case.case_number}"
    text = (
        f"CSGT: {SUBJECT_VI[notice_type]} số {case.case_number}, phương tiện {case.plate_key or ''}, "
        f"lúc {format_vn_time(case.occurred_at)} tại {case.place}. Xác thực và xem hình ảnh: {verify_url}"
    )
    return Outgoing(
        delivery_id=delivery.id,
        case_id=case.id,
        case_number=case.case_number,
        notice_type=notice_type,
        recipient=recipient_for(case, notice_type, config),
        subject=subject,
        text=text,
        pdf=store.get(notice.pdf_sha256),
        verify_url=verify_url,
    )


def _delivery_for(session: Session, notice: Notice, now: datetime) -> NoticeDelivery:
    """The delivery row of ``notice``, created on first sight (a racing insert loses cleanly)."""
    query = select(NoticeDelivery).where(
        NoticeDelivery.case_id == notice.case_id, NoticeDelivery.notice_type == notice.type
    )
    existing = session.scalar(query)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            delivery = NoticeDelivery(
                case_id=notice.case_id, notice_id=notice.id, notice_type=notice.type, status="pending", created_at=now
            )
            session.add(delivery)
        return delivery
    except IntegrityError:
        found = session.scalar(query)
        assert found is not None
        return found


def _record(session: Session, delivery: NoticeDelivery, channel: str, now: datetime, **result: object) -> None:
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            case_id=delivery.case_id,
            channel=channel,
            attempt=delivery.channel_attempts,
            at=now,
            **result,
        )
    )


def _on_sent(session: Session, delivery: NoticeDelivery, case: Case, channel: str, receipt: str, now: datetime) -> None:
    delivery.status, delivery.channel, delivery.receipt, delivery.sent_at = "sent", channel, receipt, now
    delivery.next_attempt_at = None
    if channel == "postal":
        delivery.tracking_number = receipt
        delivery.batch_unit_id = case.detecting_unit_id
        delivery.batch_date = now.astimezone(VN_TZ).date().isoformat()
    if delivery.notice_type == NoticeType.FIRST and allowed(case.status, Status.NOTIFIED):
        transition(
            session, case, to=Status.NOTIFIED, actor=ACTOR, reason=f"notice sent by {channel}: {receipt}", at=now
        )


def deliver_one(
    session: Session,
    row: OutboxMessage,
    channels: dict[str, NoticeChannel],
    store: EvidenceStore,
    config: DeliveryConfig,
    *,
    now: datetime,
) -> bool:
    """One pass over one outbox row; True when the row is finished (sent or given up)."""
    case_id, notice_type = int(row.payload["case_id"]), NoticeType(row.payload["type"])
    notice = session.scalar(select(Notice).where(Notice.case_id == case_id, Notice.type == notice_type))
    if notice is None:
        raise ValueError(f"outbox row {row.id}: case {case_id} has no rendered {notice_type} notice")
    created = _delivery_for(session, notice, now)
    delivery = session.scalar(
        select(NoticeDelivery)
        .where(NoticeDelivery.id == created.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert delivery is not None
    if delivery.status != "pending":
        return True  # sent (or given up) before: never twice
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        return False
    case = session.get(Case, case_id)
    assert case is not None
    while delivery.channel_index < len(config.order):
        name = config.order[delivery.channel_index]
        channel = channels.get(name)
        delivery.channel_attempts += 1
        try:
            if channel is None:
                raise ChannelUnavailable(f"channel {name!r} is not configured")
            receipt = channel.send(outgoing_for(delivery, case, notice, store, config))
        except ChannelUnavailable as exc:
            _record(session, delivery, name, now, ok=False, error=f"unavailable: {exc}"[:2000])
            delivery.channel_index += 1
            delivery.channel_attempts = 0
            continue
        except ChannelError as exc:
            _record(session, delivery, name, now, ok=False, error=str(exc)[:2000])
            if delivery.channel_attempts >= config.max_attempts:
                delivery.channel_index += 1
                delivery.channel_attempts = 0
                continue
            delivery.next_attempt_at = now + config.backoff(delivery.channel_attempts)
            return False
        _record(session, delivery, name, now, ok=True, receipt=receipt[:200])
        _on_sent(session, delivery, case, name, receipt, now)
        return True
    delivery.status = "failed"
    row.last_error = f"no channel could deliver {notice_type} of case {case.case_number}"
    return True


def deliver_pending(
    session_factory: sessionmaker[Session],
    channels: dict[str, NoticeChannel],
    store: EvidenceStore,
    config: DeliveryConfig,
    *,
    now: datetime | None = None,
    limit: int = 50,
) -> int:
    """One pass over pending ``deliver_notice`` rows; returns how many were finished."""
    moment = now or datetime.now(UTC)
    with session_factory() as session:
        ids: Sequence[int] = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.kind == KIND, OutboxMessage.processed_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    finished = 0
    for row_id in ids:
        with session_factory() as session:
            row = session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.processed_at.is_(None))
                .with_for_update(skip_locked=True)
            )
            if row is None:
                continue
            try:
                done = deliver_one(session, row, channels, store, config, now=moment)
            except Exception as exc:  # a bad row is recorded and retried; it must not stop the others
                session.rollback()
                log.exception("deliver_notice row %s failed", row_id)
                failed = session.get(OutboxMessage, row_id)
                if failed is not None:
                    failed.attempts += 1
                    failed.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    session.commit()
                continue
            row.attempts += 1
            if done:
                row.processed_at = moment
                finished += 1
            session.commit()
    return finished
