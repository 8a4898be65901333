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

    camera: Mapped[Camera] = relationship()
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
