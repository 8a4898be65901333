"""Idempotent intake of ``violations.detected`` events.

The event's ``violation_id`` is the dedupe key (UNIQUE on ``cases``): a replayed event, or the same
event consumed twice by two workers, creates nothing new. The insert runs in a savepoint; a
conflict rolls back only the savepoint and returns ``None``, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases import plates
from cases.models import AuditLog, Camera, Case, Evidence
from cases.states import Status, transition
from cases.types import VN_TZ
from detection.types import ViolationEvent

SYSTEM_ACTOR = "system:intake"
# The evidence package is complete (step 2) when it holds at least these images.
REQUIRED_EVIDENCE: frozenset[str] = frozenset({"at"})
MAX_ID = 64  # Case.violation_id column width


@dataclass(frozen=True)
class IntakePolicy:
    """Configurable figures (shared/DOMAIN.md marks the 10 days as possibly working days)."""

    case_prefix: str = "HCM"
    notify_days: int = 10
    expiry_days: int = 365


def case_number(prefix: str, occurred_at: datetime, case_id: int) -> str:
    """``HCM-2026-000123``: prefix, year of the violation in Vietnam time, the case's id."""
    return f"{prefix}-{occurred_at.astimezone(VN_TZ).year}-{case_id:06d}"


def _camera(session: Session, camera_id: str) -> Camera:
    camera = session.get(Camera, camera_id)
    if camera is None:  # unknown camera: keep the case, make the gap visible (name = id)
        try:
            with session.begin_nested():
                session.add(Camera(id=camera_id, name=camera_id, address=f"camera {camera_id}"))
        except IntegrityError:  # another consumer created it meanwhile
            pass
        camera = session.get(Camera, camera_id)
        if camera is None:
            raise LookupError(f"camera {camera_id!r} could not be created or found")
    return camera


# event field -> the width of the column it is stored in
_WIDTHS = {"violation_id": MAX_ID, "camera_id": 64, "rule_version": 32, "vehicle_class": 20}
MAX_PLATE = 16


def _check_widths(event: ViolationEvent) -> None:
    for name, width in _WIDTHS.items():
        value = getattr(event, name)
        if not 0 < len(value) <= width:
            raise ValueError(
                f"{event.violation_id[:80]}: expected {name} of 1 to {width} characters, got {len(value)}"
            )


def _build(event: ViolationEvent, camera: Camera, policy: IntakePolicy, now: datetime) -> Case:
    plate = plates.normalize(event.plate_text) if event.plate_text else None
    if plate is not None and not 0 < len(plate) <= MAX_PLATE:
        plate = None  # not a plate by any reading: an officer reads it from the images
    layout = next(
        (c.layout for c in event.plate_candidates if plate and plates.normalize(c.text) == plate), None
    )
    occurred = event.occurred_at
    if occurred.tzinfo is None:
        raise ValueError(f"expected occurred_at with a timezone in {event.violation_id}, got {occurred!r}")
    return Case(
        case_number=f"pending-{event.violation_id}",
        violation_id=event.violation_id,
        rule=str(event.rule),
        rule_version=event.rule_version,
        camera_id=camera.id,
        occurred_at=occurred,
        place=camera.address,
        vehicle_class=event.vehicle_class,
        plate_read=plate,
        plate_key=plate,
        plate_layout=layout,
        plate_confidence=event.plate_confidence,
        needs_manual_plate=event.needs_manual_plate or plate is None,
        plate_candidates=[c.model_dump(mode="json") for c in event.plate_candidates],
        measurement=event.measurement.model_dump(mode="json", exclude_none=True),
        model_versions=dict(event.model_versions),
        evidence_signature=event.evidence_signature,
        status=Status.DETECTED,
        notify_by=occurred + timedelta(days=policy.notify_days),
        expires_at=occurred + timedelta(days=policy.expiry_days),
        detecting_unit_id=camera.unit_id,
        resolving_unit_id=camera.unit_id,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )


def ingest_violation(
    session: Session,
    event: ViolationEvent,
    *,
    policy: IntakePolicy | None = None,
    now: datetime | None = None,
) -> Case | None:
    """Create the case for ``event``; ``None`` when a case with its violation_id already exists.

    The new case is DETECTED, then EXTRACTED when its evidence package is complete (it then shows
    in the review queue), with both moves in the audit log. Does not commit.
    """
    policy = policy or IntakePolicy()
    now = now or datetime.now(UTC)
    _check_widths(event)
    if session.scalar(select(Case.id).where(Case.violation_id == event.violation_id)) is not None:
        return None
    camera = _camera(session, event.camera_id)
    case = _build(event, camera, policy, now)
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        # Lost a race with another consumer (or the id is taken): the savepoint is rolled back.
        if session.scalar(select(Case.id).where(Case.violation_id == event.violation_id)) is not None:
            return None
        raise
    case.case_number = case_number(policy.case_prefix, case.occurred_at, case.id)
    seen: set[tuple[str, str]] = set()
    for ref in event.evidence:
        if (ref.role, ref.sha256) in seen:
            continue
        seen.add((ref.role, ref.sha256))
        session.add(
            Evidence(
                case_id=case.id,
                role=ref.role,
                sha256=ref.sha256,
                storage_key=ref.key,
                frame_sequence=ref.frame_sequence,
            )
        )
    session.flush()
    session.add(
        AuditLog(
            case_id=case.id,
            actor=SYSTEM_ACTOR,
            at=now,
            from_status=None,
            to_status=Status.DETECTED,
            reason=f"violation {event.violation_id}",
        )
    )
    if {ref.role for ref in event.evidence} >= REQUIRED_EVIDENCE:
        transition(
            session, case, to=Status.EXTRACTED, actor=SYSTEM_ACTOR, reason="evidence package complete", at=now
        )
    session.flush()
    return case
