"""The officer's review: the queue, one case, approve, reject, search by plate.

Keyword-only service functions (``approve(*, session, case_id, actor)``); each raises
``ReviewError`` with a message an officer can read when the case cannot take the step, and
changes nothing then. None commits: the caller (a request, a worker) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from cases import plates
from cases.models import Case
from cases.registry import lookup_owner
from cases.states import IllegalTransition, Status, transition
from cases.tariff import TariffError, fine_for
from cases.types import LOOKUP_CLASSES, VN_TZ, LookupVehicleType, RejectReason


class ReviewError(ValueError):
    """The case cannot take this step; the message says why (shown to the officer)."""


class CaseNotFound(LookupError):
    pass


def queue(*, session: Session, unit: int | None = None, limit: int = 50, offset: int = 0) -> Sequence[Case]:
    """Cases waiting for review (EXTRACTED), the nearest notification deadline first."""
    query = (
        select(Case)
        .where(Case.status == Status.EXTRACTED)
        .options(selectinload(Case.evidence))
        .order_by(Case.notify_by, Case.id)
        .limit(limit)
        .offset(offset)
    )
    if unit is not None:
        query = query.where(Case.detecting_unit_id == unit)
    return session.scalars(query).all()


def get(*, session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, options=[selectinload(Case.evidence), selectinload(Case.notices)])
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    return case


def approve(
    *, session: Session, case_id: int, actor: str, plate: str | None = None, now: datetime | None = None
) -> Case:
    """EXTRACTED -> FILED: the plate is settled (``plate`` overrides the read), the owner found in
    the registry, the fine computed from the tariff in force on the day; the move writes the
    ``render_notice`` outbox row. Raises ``ReviewError`` (nothing changed) otherwise."""
    case = get(session=session, case_id=case_id)
    if case.status != Status.EXTRACTED:
        raise ReviewError(f"case {case.case_number} is {case.status}, only a case in review can be approved")
    chosen = plates.normalize(plate) if plate else case.plate_read
    if not chosen:
        raise ReviewError(f"case {case.case_number}: the plate could not be read; enter it to approve")
    if not plates.is_valid(chosen):
        raise ReviewError(f"case {case.case_number}: expected a Vietnamese plate, got {chosen!r}")
    vehicle = lookup_owner(session, chosen)
    if vehicle is None:
        raise ReviewError(f"case {case.case_number}: plate {chosen} is not in the vehicle registry")
    try:
        fine = fine_for(
            case.rule, case.vehicle_class, case.measurement, case.occurred_at.astimezone(VN_TZ).date()
        )
    except TariffError as exc:
        raise ReviewError(f"case {case.case_number}: no fine applies: {exc}") from exc
    moment = now or datetime.now(UTC)
    corrected = plate is not None and chosen != case.plate_read
    case.plate_confirmed = chosen
    case.plate_key = chosen
    case.plate_colour = vehicle.plate_colour
    case.vehicle_id = vehicle.id
    case.fine_min_vnd, case.fine_max_vnd, case.points = fine.min_vnd, fine.max_vnd, fine.points
    case.legal_reference, case.tariff_version = fine.reference, fine.tariff_version
    case.reviewed_by = actor
    reason = f"approved; plate corrected from {case.plate_read} to {chosen}" if corrected else "approved"
    try:
        transition(session, case, to=Status.FILED, actor=actor, reason=reason, at=moment)
    except IllegalTransition as exc:  # pragma: no cover - checked above
        raise ReviewError(str(exc)) from exc
    return case


def reject(
    *,
    session: Session,
    case_id: int,
    actor: str,
    reason: RejectReason | str,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """DETECTED/EXTRACTED -> REJECTED with a reason from ``RejectReason``."""
    try:
        why = RejectReason(reason)
    except ValueError as exc:
        raise ReviewError(
            f"expected a reject reason in {[r.value for r in RejectReason]}, got {reason!r}"
        ) from exc
    case = get(session=session, case_id=case_id)
    if case.status not in (Status.DETECTED, Status.EXTRACTED):
        raise ReviewError(f"case {case.case_number} is {case.status}, only a case in review can be rejected")
    case.reject_reason, case.reject_note, case.reviewed_by = why, note or None, actor
    transition(
        session,
        case,
        to=Status.REJECTED,
        actor=actor,
        reason=f"{why.value}: {note}" if note else why.value,
        at=now,
    )
    return case


def search_by_plate(
    *, session: Session, plate: str, vehicle_type: LookupVehicleType | str | None = None, limit: int = 100
) -> Sequence[Case]:
    """Every case whose confirmed (else read) plate matches, newest first; all statuses."""
    key = plates.normalize(plate)
    if not key:
        return []
    query = select(Case).where(or_(Case.plate_key == key, Case.plate_read == key))
    if vehicle_type is not None:
        try:
            classes = LOOKUP_CLASSES[LookupVehicleType(vehicle_type)]
        except ValueError as exc:
            raise ReviewError(
                f"expected a vehicle type in {[v.value for v in LookupVehicleType]}, got {vehicle_type!r}"
            ) from exc
        query = query.where(Case.vehicle_class.in_(classes))
    return session.scalars(query.order_by(Case.occurred_at.desc()).limit(limit)).all()
