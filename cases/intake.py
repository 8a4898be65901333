"""Idempotent intake of ``violations.detected`` events.

The event's ``violation_id`` is the dedupe key (UNIQUE on ``cases``): a replayed event, or the same
event consumed twice by two workers, creates nothing new. The insert runs in a savepoint; a
conflict rolls back only the savepoint and returns ``None``, on SQLite and PostgreSQL alike.

Near-duplicates (the same plate, rule and camera within ``merge_window_s``: one act seen twice,
e.g. a track lost and found again) become one case: the later detection is recorded in
``merged_detections`` (its violation_id is a dedupe key too), its evidence is attached to the
first case and the merge is audited. A case from a camera whose health verdict is not healthy
(``CameraStatus.holds_new_cases``) is created held for review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases import plates
from cases.models import AuditLog, Camera, CameraStatus, Case, Evidence, MergedDetection
from cases.states import Status, record_event, transition
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
    merge_window_s: int = 300  # 0: never merge


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


def check_event(event: ViolationEvent) -> None:
    """What intake refuses in an otherwise valid document: over-long fields, a naive time."""
    _check_widths(event)
    if event.occurred_at.tzinfo is None:
        raise ValueError(f"expected occurred_at with a timezone in {event.violation_id}, got {event.occurred_at!r}")


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
        source="camera",
        held_for_review=False,
        notify_by=occurred + timedelta(days=policy.notify_days),
        expires_at=occurred + timedelta(days=policy.expiry_days),
        detecting_unit_id=camera.unit_id,
        resolving_unit_id=camera.unit_id,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )


def already_seen(session: Session, violation_id: str) -> bool:
    """True when the violation is a case, or was merged into one."""
    query = union_all(
        select(Case.id).where(Case.violation_id == violation_id),
        select(MergedDetection.case_id).where(MergedDetection.violation_id == violation_id),
    ).limit(1)
    return session.scalar(query) is not None  # one round trip: intake runs this for every event


def lock_plates(session: Session, plate_keys: Iterable[str]) -> None:
    """Serialise intake of the same plates across consumers until this transaction ends, so a
    near-duplicate on another partition waits for the first case to be committed and then merges
    into it (PostgreSQL advisory locks, taken in sorted order: no deadlock). SQLite serialises all
    writers already."""
    keys = sorted(set(plate_keys))
    if keys and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(p)) FROM unnest(CAST(:keys AS text[])) AS p"), {"keys": keys}
        )


def find_near_duplicate(
    session: Session, *, plate: str | None, rule: str, camera_id: str, occurred_at: datetime, window_s: int
) -> Case | None:
    """The open case of the same plate, rule and camera within ``window_s`` of ``occurred_at``."""
    if not plate or window_s <= 0:
        return None
    window = timedelta(seconds=window_s)
    return session.scalar(
        select(Case)
        .where(
            Case.plate_key == plate,
            Case.rule == rule,
            Case.camera_id == camera_id,
            Case.occurred_at.between(occurred_at - window, occurred_at + window),
            Case.status.not_in([Status.REJECTED, Status.CLOSED]),
        )
        .order_by(Case.occurred_at, Case.id)
        .limit(1)
    )


def _merge(session: Session, case: Case, event: ViolationEvent, now: datetime) -> Case | None:
    """Fold ``event`` into ``case``; ``None`` when another consumer merged it meanwhile."""
    merged = MergedDetection(
        violation_id=event.violation_id, case_id=case.id, occurred_at=event.occurred_at, merged_at=now
    )
    try:
        with session.begin_nested():
            session.add(merged)
            session.flush()
    except IntegrityError:
        if already_seen(session, event.violation_id):
            return None
        raise
    added = _attach_evidence(session, case, event, prefix=f"m{merged.id}:")
    record_event(
        session,
        case,
        actor=SYSTEM_ACTOR,
        at=now,
        reason=f"merged near-duplicate detection {event.violation_id} "
        f"({event.occurred_at.isoformat()}, {added} evidence items attached)",
    )
    session.flush()
    return case


def _attach_evidence(session: Session, case: Case, event: ViolationEvent, *, prefix: str = "") -> int:
    seen: set[tuple[str, str]] = set()
    for ref in event.evidence:
        role = f"{prefix}{ref.role}"[:20]
        if (role, ref.sha256) in seen:
            continue
        seen.add((role, ref.sha256))
        session.add(
            Evidence(
                case_id=case.id,
                role=role,
                sha256=ref.sha256,
                storage_key=ref.key,
                frame_sequence=ref.frame_sequence,
            )
        )
    return len(seen)


def _camera_hold(session: Session, camera_id: str, at: datetime) -> str | None:
    status = session.get(CameraStatus, camera_id)
    if status is None or not status.holds_new_cases(at):
        return None
    detail = f": {status.detail}" if status.detail else ""
    return f"camera {camera_id} was {status.effective_verdict(at)}{detail}"[:200]


def ingest_violation(
    session: Session,
    event: ViolationEvent,
    *,
    policy: IntakePolicy | None = None,
    now: datetime | None = None,
) -> Case | None:
    """Create the case for ``event``; ``None`` when its violation_id is already a case or a merge.

    A near-duplicate of an open case is merged into it and that case is returned (unchanged in
    status). Otherwise the new case is DETECTED, then EXTRACTED when its evidence package is
    complete (it then shows in the review queue), with both moves in the audit log; held for
    review when its camera is not healthy. Does not commit.
    """
    policy = policy or IntakePolicy()
    now = now or datetime.now(UTC)
    _check_widths(event)
    if already_seen(session, event.violation_id):
        return None
    camera = _camera(session, event.camera_id)
    case = _build(event, camera, policy, now)
    if case.plate_key and policy.merge_window_s > 0:
        lock_plates(session, [case.plate_key])
    first = find_near_duplicate(
        session,
        plate=case.plate_key,
        rule=case.rule,
        camera_id=case.camera_id,
        occurred_at=case.occurred_at,
        window_s=policy.merge_window_s,
    )
    if first is not None:
        if first.violation_id == event.violation_id:  # another consumer created it meanwhile
            return None
        return _merge(session, first, event, now)
    hold = _camera_hold(session, camera.id, case.occurred_at)
    if hold is not None:
        case.held_for_review, case.hold_reason = True, hold
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        # Lost a race with another consumer (or the id is taken): the savepoint is rolled back.
        if already_seen(session, event.violation_id):
            return None
        raise
    case.case_number = case_number(policy.case_prefix, case.occurred_at, case.id)
    _attach_evidence(session, case, event)
    session.add(
        AuditLog(
            case_id=case.id,
            actor=SYSTEM_ACTOR,
            at=now,
            from_status=None,
            to_status=Status.DETECTED,
            reason=f"violation {event.violation_id}" + (f"; held for review: {hold}" if hold else ""),
        )
    )
    if {ref.role for ref in event.evidence} >= REQUIRED_EVIDENCE:
        transition(
            session, case, to=Status.EXTRACTED, actor=SYSTEM_ACTOR, reason="evidence package complete", at=now
        )
    session.flush()
    return case
