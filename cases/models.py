"""SQLAlchemy 2.0 models of the back office. Portable: PostgreSQL in production and tests, SQLite
for the embedded demo. Statuses and kinds are plain strings checked in code (``cases.states``), so
adding one never needs a database enum migration.

Times are stored timezone-aware in UTC (``UTCDateTime``) and come back aware on both databases.
Owners' personal fields hold Fernet tokens (``cases.pii``), never readable text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from cases.states import Status


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite drops the offset; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Unit(Base):
    """A police unit: detects (owns cameras) and/or resolves cases."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    role: Mapped[str] = mapped_column(String(20))  # cases.types.Role
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship()


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))

    unit: Mapped[Unit | None] = relationship()


class Owner(Base):
    """A registered owner. Every personal field is a Fernet token (``cases.pii.PiiCipher``)."""

    __tablename__ = "owners"
    id: Mapped[int] = mapped_column(primary_key=True)
    name_enc: Mapped[str] = mapped_column(Text)
    id_number_enc: Mapped[str] = mapped_column(Text, default="")
    address_enc: Mapped[str] = mapped_column(Text, default="")
    phone_enc: Mapped[str] = mapped_column(Text, default="")
    email_enc: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Vehicle(Base):
    """A registry entry: one plate, its owner."""

    __tablename__ = "vehicles"
    id: Mapped[int] = mapped_column(primary_key=True)
    plate_normalized: Mapped[str] = mapped_column(String(16), unique=True)
    plate_printed: Mapped[str] = mapped_column(String(24))
    vehicle_type: Mapped[str] = mapped_column(String(20))
    plate_colour: Mapped[str] = mapped_column(String(10), default="white")
    brand: Mapped[str] = mapped_column(String(80), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[Owner] = relationship()


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_notify_by", "status", "notify_by"),
        Index("ix_cases_plate_key", "plate_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(80), unique=True)  # "HCM-2026-000123"
    violation_id: Mapped[str] = mapped_column(String(64), unique=True)  # the dedupe key
    rule: Mapped[str] = mapped_column(String(32))
    rule_version: Mapped[str] = mapped_column(String(32))
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    occurred_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300))
    vehicle_class: Mapped[str] = mapped_column(String(20))
    plate_read: Mapped[str | None] = mapped_column(String(16))
    plate_confirmed: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(16))  # confirmed, else read: what lookups match
    plate_colour: Mapped[str | None] = mapped_column(String(10))
    plate_layout: Mapped[str | None] = mapped_column(String(10))
    plate_confidence: Mapped[float] = mapped_column(default=0.0)
    needs_manual_plate: Mapped[bool] = mapped_column(Boolean, default=False)
    plate_candidates: Mapped[list[Any]] = mapped_column(default=list)
    measurement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evidence_signature: Mapped[str] = mapped_column(String(200), default="")
    fine_min_vnd: Mapped[int | None]
    fine_max_vnd: Mapped[int | None]
    points: Mapped[int | None]
    legal_reference: Mapped[str | None] = mapped_column(String(200))
    tariff_version: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=Status.DETECTED)
    outcome: Mapped[str | None] = mapped_column(String(20))
    reject_reason: Mapped[str | None] = mapped_column(String(40))
    reject_note: Mapped[str | None] = mapped_column(Text)
    notify_by: Mapped[datetime]  # detection + 10 days (configurable)
    expires_at: Mapped[datetime]  # detection + 1 year
    detecting_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    resolving_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # issue 6 (migration 0002): camera or citizen, the camera-health hold, when the notice went out
    source: Mapped[str] = mapped_column(String(12), default="camera", server_default="camera")
    held_for_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    notified_at: Mapped[datetime | None]
    # issue 8 (migration 0004): the officer a supervisor assigned the case to (may be of another unit)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    camera: Mapped[Camera] = relationship()
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    detecting_unit: Mapped[Unit | None] = relationship(foreign_keys=[detecting_unit_id])
    resolving_unit: Mapped[Unit | None] = relationship(foreign_keys=[resolving_unit_id])
    vehicle: Mapped[Vehicle | None] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(back_populates="case", order_by="Evidence.id")
    notices: Mapped[list[Notice]] = relationship(back_populates="case", order_by="Notice.id")


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("case_id", "role", "sha256", name="uq_evidence_case_role_sha"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # before | at | after | vehicle | plate | strip
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(300))
    frame_sequence: Mapped[int | None]

    case: Mapped[Case] = relationship(back_populates="evidence")


class Notice(Base):
    """One rendered notice; never two of the same type for one case."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("case_id", "type", name="uq_notices_case_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    type: Mapped[str] = mapped_column(String(40))  # notices.render.NoticeType
    status: Mapped[str] = mapped_column(String(20), default="rendered")
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_key: Mapped[str] = mapped_column(String(300))
    token: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="notices")


class AuditLog(Base):
    """Append-only: who moved which case from what to what, when and why. Rows are never updated
    or deleted (enforced on the session, see ``_audit_is_append_only``)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A side effect written in the same transaction as the change that caused it, performed after
    commit by a worker. ``dedupe_key`` makes writing the same effect twice impossible."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_kind_processed", "kind", "processed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)


class AuditIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, flush_context: object, instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog):
            raise AuditIsAppendOnly(f"audit rows are append-only: refused to change audit row {obj.id}")


# --- issue 8: people's screens (plate corrections, camera status) ------------------------------------


class PlateCorrection(Base):
    """A plate changed by hand from what the reader voted: a second person (a supervisor) must
    confirm it before any notice of the case can go out. ``status`` is pending | confirmed |
    refused; while a case's latest correction is not confirmed, no Notice row can be added for it
    (``_no_notice_while_correction_pending``)."""

    __tablename__ = "plate_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_plate: Mapped[str | None] = mapped_column(String(16))
    to_plate: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship()


class CameraStatus(Base):
    """What the detection worker last saw of one camera (written about once a second): its health
    verdict against the reference view (``ingest.health``), rates, latency and a small annotated
    preview JPEG for the operator's camera wall and live view.

    Intake contract (issue 6): a case from a camera for which ``holds_new_cases(now)`` is true is
    created held for review."""

    __tablename__ = "camera_status"
    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(12), default="healthy")  # ingest.health.Verdict
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_frame_at: Mapped[datetime | None]
    frames_processed: Mapped[int] = mapped_column(Integer, default=0)
    fps_processed: Mapped[float] = mapped_column(default=0.0)
    latency_ms: Mapped[float] = mapped_column(default=0.0)  # frame capture -> detection done
    detections: Mapped[int] = mapped_column(Integer, default=0)  # in the preview frame
    preview_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)
    silent_after_s: Mapped[float] = mapped_column(default=10.0)
    # An admin's switch (/admin/cameras): a disabled camera's new cases are held for review
    # whatever its health; the detection worker never writes these two columns.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    disabled_reason: Mapped[str | None] = mapped_column(String(200))

    def effective_verdict(self, now: datetime) -> str:
        """``disabled`` when an admin switched the camera off; else the stored verdict, or
        ``silent`` when no frame has been seen for ``silent_after_s``."""
        if self.disabled:
            return "disabled"
        seen = self.last_frame_at or self.updated_at
        if (now - seen).total_seconds() > self.silent_after_s:
            return "silent"
        return self.verdict

    def holds_new_cases(self, now: datetime) -> bool:
        return self.effective_verdict(now) != "healthy"


# Search by date range and the statistics read cases by violation time (issue 8, migration 0004).
Index("ix_cases_occurred_at", Case.occurred_at)


class CorrectionPending(RuntimeError):
    """A notice was about to be recorded for a case whose plate correction is not confirmed."""


@event.listens_for(Session, "before_flush")
def _no_notice_while_correction_pending(session: Session, flush_context: object, instances: object) -> None:
    from sqlalchemy import select

    notices = [obj for obj in session.new if isinstance(obj, Notice)]
    if not notices:
        return
    with session.no_autoflush:
        for notice in notices:
            case_id = notice.case_id if notice.case_id is not None else getattr(notice.case, "id", None)
            latest = session.scalar(
                select(PlateCorrection)
                .where(PlateCorrection.case_id == case_id)
                .order_by(PlateCorrection.id.desc())
                .limit(1)
            )
            if latest is not None and latest.status != "confirmed":
                raise CorrectionPending(
                    f"case {case_id}: plate correction {latest.from_plate} -> {latest.to_plate} is "
                    f"{latest.status}; a supervisor must confirm it before a notice goes out"
                )


# --- issue 6: resolution, deadlines, submissions (migration 0002) ----------------------------------


class MergedDetection(Base):
    """A near-duplicate detection folded into an existing case. Its ``violation_id`` is a dedupe
    key like ``Case.violation_id``: replaying it creates nothing and attaches nothing twice."""

    __tablename__ = "merged_detections"
    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    occurred_at: Mapped[datetime]
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadlineFlag(Base):
    """A legal deadline that passed (``cases.deadlines.FlagKind``): raised by the deadline job,
    cleared by the move that satisfies it. At most one per case and kind."""

    __tablename__ = "deadline_flags"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", name="uq_deadline_flags_case_kind"),
        Index("ix_deadline_flags_open", "cleared_at", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None]


class Appointment(Base):
    """The owner (or driver) is asked to come to the resolving unit at a time and place."""

    __tablename__ = "appointments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    scheduled_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300))
    contact: Mapped[str] = mapped_column(String(200), default="")  # whom to ask
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked | attended | missed | cancelled
    booked_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Statement(Base):
    """What the owner said at the resolving unit: an explanation, or the name of the person who
    drove (the fine then moves to that driver). The driver's personal data is a Fernet token."""

    __tablename__ = "statements"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # explanation | driver_identified | owner_admits
    text: Mapped[str] = mapped_column(Text, default="")
    driver_name_enc: Mapped[str] = mapped_column(Text, default="")
    driver_id_number_enc: Mapped[str] = mapped_column(Text, default="")
    driver_address_enc: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(Base):
    """The violation record (biên bản) and the penalty decision for one case."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    record_number: Mapped[str] = mapped_column(String(40), unique=True)
    decision_number: Mapped[str] = mapped_column(String(40), unique=True)
    fine_vnd: Mapped[int]
    points: Mapped[int] = mapped_column(Integer, default=0)
    person_fined: Mapped[str] = mapped_column(String(10))  # owner | driver
    fined_name_enc: Mapped[str] = mapped_column(Text)
    fined_id_number_enc: Mapped[str] = mapped_column(Text, default="")
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime]
    pay_by: Mapped[datetime]


class Payment(Base):
    """One payment of a decision's fine, reported by a payment adapter's signed callback (or an
    officer entering a treasury receipt). ``provider_reference`` makes a replayed callback a no-op."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "provider_reference", name="uq_payments_provider_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_reference: Mapped[str] = mapped_column(String(100))
    amount_vnd: Mapped[int]
    fine_vnd: Mapped[int]
    late_interest_vnd: Mapped[int] = mapped_column(Integer, default=0)
    paid_at: Mapped[datetime]
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(Base):
    """The case sent, evidence attached, to the police of the owner's locality."""

    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    transferred_by: Mapped[str] = mapped_column(String(64))
    transferred_at: Mapped[datetime]


class CitizenSubmission(Base):
    """Material supplied by a person or an organisation; it becomes a case only once an officer
    verifies it, within ``verify_by`` (30 days, 60 when complex: shared/DOMAIN.md)."""

    __tablename__ = "citizen_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # in_person | email | portal | app | post
    submitter_name_enc: Mapped[str] = mapped_column(Text)
    submitter_contact_enc: Mapped[str] = mapped_column(Text, default="")
    plate_text: Mapped[str] = mapped_column(String(16))
    vehicle_class: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(32))
    place: Mapped[str] = mapped_column(String(300))
    occurred_at: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # [{"role", "sha256", "key"}]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime]
    verify_by: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | verified | refused
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None]
    refuse_reason: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


# --- issue 7: notice delivery, public lookup index (migration 0003) ---------------------------------

# The public lookup asks for one plate's published cases, newest first: one index range scan.
Index("ix_cases_plate_key_occurred_at", Case.plate_key, Case.occurred_at)


class NoticeDelivery(Base):
    """Getting one notice (case, type) to its addressee. One row per case and notice type (the
    unique constraint): whatever the retries, fallbacks or racing workers, a notice is sent at
    most once. ``status``: pending | sent | failed. ``channel_index`` walks the configured channel
    order; ``next_attempt_at`` is the backoff. Postal deliveries carry the tracking number and the
    print batch (unit, local date) they go out in."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("case_id", "notice_type", name="uq_notice_deliveries_case_type"),
        Index("ix_notice_deliveries_batch", "batch_unit_id", "batch_date", "channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), unique=True)
    notice_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    channel: Mapped[str | None] = mapped_column(String(20))  # the channel that delivered it
    channel_index: Mapped[int] = mapped_column(Integer, default=0)
    channel_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    receipt: Mapped[str | None] = mapped_column(String(200))
    tracking_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    batch_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    batch_date: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM-DD, Vietnam time
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    notice: Mapped[Notice] = relationship()
    attempts: Mapped[list[DeliveryAttempt]] = relationship(order_by="DeliveryAttempt.id")


class DeliveryAttempt(Base):
    """One try on one channel, successful or not, with the gateway's receipt or the error."""

    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notice_deliveries.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer)  # 1, 2, ... on this channel
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
