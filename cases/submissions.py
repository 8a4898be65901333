"""Material supplied by citizens and organisations (step 1, shared/DOMAIN.md): it must show the
act, the time and the place, and it is verified by an officer before use, within 30 days (60 when
complex). Only a verified submission becomes a case (EXTRACTED, in the review queue like a camera
case); a refused one keeps its reason; one not verified in time can no longer be verified.

The submitter's name and contact are personal data: encrypted at rest like an owner's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases import plates
from cases.models import AuditLog, Camera, Case, CitizenSubmission, Evidence
from cases.pii import PiiCipher
from cases.registry import VEHICLE_TYPES
from cases.states import Status, transition
from cases.tariff import TariffError, behaviour
from cases.types import VN_TZ

CITIZEN_CAMERA = "citizen"  # the pseudo-camera every citizen case hangs off (cases.camera_id is required)
REQUIRED_ROLES = frozenset({"at"})


class Channel(StrEnum):
    IN_PERSON = "in_person"
    EMAIL = "email"
    PORTAL = "portal"
    APP = "app"
    POST = "post"


class SubmissionError(ValueError):
    """The submission cannot be accepted or take this step; the message names the problem."""


@dataclass(frozen=True)
class SubmissionPolicy:
    verify_days: int = 30
    verify_days_complex: int = 60
    notify_days: int = 10  # counted from verification: the material becomes usable then
    expiry_days: int = 365
    case_prefix: str = "HCM"


@dataclass(frozen=True)
class SubmittedImage:
    role: str  # "at" (required), "before", "after", ...
    sha256: str
    key: str


def submit(
    *,
    session: Session,
    channel: Channel | str,
    submitter_name: str,
    submitter_contact: str,
    plate_text: str,
    vehicle_class: str,
    rule: str,
    place: str,
    occurred_at: datetime,
    images: Sequence[SubmittedImage],
    pii_key: str,
    description: str = "",
    unit_id: int | None = None,
    complex_case: bool = False,
    policy: SubmissionPolicy | None = None,
    now: datetime | None = None,
) -> CitizenSubmission:
    """Record a submission, pending verification. Raises ``SubmissionError`` naming the bad field."""
    policy = policy or SubmissionPolicy()
    now = now or datetime.now(UTC)
    try:
        how = Channel(channel)
    except ValueError as exc:
        raise SubmissionError(f"channel: expected one of {[c.value for c in Channel]}, got {channel!r}") from exc
    if not submitter_name.strip():
        raise SubmissionError("submitter_name: expected the name of the person or organisation, got nothing")
    plate = plates.normalize(plate_text)
    if not plates.is_valid(plate):
        raise SubmissionError(f"plate_text: expected a Vietnamese plate, got {plate_text!r}")
    if vehicle_class not in VEHICLE_TYPES:
        raise SubmissionError(f"vehicle_class: expected one of {list(VEHICLE_TYPES)}, got {vehicle_class!r}")
    if occurred_at.tzinfo is None:
        raise SubmissionError(f"occurred_at: expected a time with a timezone, got {occurred_at!r}")
    if occurred_at > now:
        raise SubmissionError(f"occurred_at: expected a past time, got {occurred_at.isoformat()}")
    if occurred_at < now - timedelta(days=policy.expiry_days):
        raise SubmissionError(f"occurred_at: older than the {policy.expiry_days}-day limitation")
    try:
        behaviour(rule, on=occurred_at.astimezone(VN_TZ).date())
    except TariffError as exc:
        raise SubmissionError(f"rule: {exc}") from exc
    if not place.strip():
        raise SubmissionError("place: expected where it happened, got nothing")
    roles = {image.role for image in images}
    if not roles >= REQUIRED_ROLES:
        raise SubmissionError(f"images: expected at least one image showing the act (role 'at'), got {sorted(roles)}")
    for image in images:
        if len(image.sha256) != 64 or any(c not in "0123456789abcdef" for c in image.sha256):
            raise SubmissionError(f"images: expected a sha256 hex digest, got {image.sha256!r}")
    cipher = PiiCipher(pii_key)
    days = policy.verify_days_complex if complex_case else policy.verify_days
    submission = CitizenSubmission(
        channel=how,
        submitter_name_enc=cipher.encrypt(submitter_name.strip()),
        submitter_contact_enc=cipher.encrypt(submitter_contact.strip()),
        plate_text=plate,
        vehicle_class=vehicle_class,
        rule=rule,
        place=place.strip()[:300],
        occurred_at=occurred_at,
        description=description.strip(),
        evidence=[{"role": i.role[:20], "sha256": i.sha256, "key": i.key} for i in images],
        unit_id=unit_id,
        complex=complex_case,
        submitted_at=now,
        verify_by=now + timedelta(days=days),
        status="pending",
    )
    session.add(submission)
    session.flush()
    return submission


def _pending(session: Session, submission_id: int) -> CitizenSubmission:
    submission = session.get(CitizenSubmission, submission_id)
    if submission is None:
        raise SubmissionError(f"no submission with id {submission_id}")
    if submission.status != "pending":
        raise SubmissionError(f"submission {submission_id} is already {submission.status}")
    return submission


def _citizen_camera(session: Session) -> Camera:
    camera = session.get(Camera, CITIZEN_CAMERA)
    if camera is None:
        try:
            with session.begin_nested():
                session.add(Camera(id=CITIZEN_CAMERA, name="Phản ánh của người dân", address="(theo phản ánh)"))
        except IntegrityError:
            pass
        camera = session.get(Camera, CITIZEN_CAMERA)
        assert camera is not None
    return camera


def verify(
    *,
    session: Session,
    submission_id: int,
    actor: str,
    policy: SubmissionPolicy | None = None,
    now: datetime | None = None,
) -> Case:
    """The officer checked the material: it becomes a case in the review queue (EXTRACTED), its
    10-day notification clock starting now. Refused after ``verify_by``."""
    from cases.intake import case_number

    policy = policy or SubmissionPolicy()
    now = now or datetime.now(UTC)
    submission = _pending(session, submission_id)
    if now > submission.verify_by:
        raise SubmissionError(
            f"submission {submission_id}: the verification period ended on "
            f"{submission.verify_by.astimezone(VN_TZ).strftime('%d/%m/%Y')}; it can only be refused"
        )
    camera = _citizen_camera(session)
    case = Case(
        case_number=f"pending-submission-{submission.id}",
        violation_id=f"submission-{submission.id}",
        rule=submission.rule,
        rule_version="citizen",
        camera_id=camera.id,
        occurred_at=submission.occurred_at,
        place=submission.place,
        vehicle_class=submission.vehicle_class,
        plate_read=submission.plate_text,
        plate_key=submission.plate_text,
        plate_confidence=1.0,
        source="citizen",
        status=Status.DETECTED,
        notify_by=now + timedelta(days=policy.notify_days),
        expires_at=submission.occurred_at + timedelta(days=policy.expiry_days),
        detecting_unit_id=submission.unit_id,
        resolving_unit_id=submission.unit_id,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    case.case_number = case_number(policy.case_prefix, case.occurred_at, case.id)
    for item in submission.evidence:
        session.add(Evidence(case_id=case.id, role=item["role"], sha256=item["sha256"], storage_key=item["key"]))
    session.add(
        AuditLog(
            case_id=case.id,
            actor=actor,
            at=now,
            to_status=Status.DETECTED,
            reason=f"citizen submission {submission.id} ({submission.channel}) verified",
        )
    )
    session.flush()
    transition(session, case, to=Status.EXTRACTED, actor=actor, reason="submitted material verified", at=now)
    submission.status, submission.verified_by, submission.verified_at = "verified", actor, now
    submission.case_id = case.id
    session.flush()
    return case


def refuse(
    *, session: Session, submission_id: int, actor: str, reason: str, now: datetime | None = None
) -> CitizenSubmission:
    """The material does not show the act, the time or the place (or came too late)."""
    if not reason.strip():
        raise SubmissionError("refusing a submission needs a reason")
    submission = _pending(session, submission_id)
    submission.status = "refused"
    submission.verified_by, submission.verified_at = actor, now or datetime.now(UTC)
    submission.refuse_reason = reason.strip()
    session.flush()
    return submission


def pending(*, session: Session, unit: int | None = None, limit: int = 200) -> Sequence[CitizenSubmission]:
    """Submissions waiting for verification, the nearest verification deadline first."""
    query = (
        select(CitizenSubmission)
        .where(CitizenSubmission.status == "pending")
        .order_by(CitizenSubmission.verify_by, CitizenSubmission.id)
        .limit(limit)
    )
    if unit is not None:
        query = query.where(CitizenSubmission.unit_id == unit)
    return session.scalars(query).all()
