"""The officer's review: the queue, one case, approve, reject, search by plate.

Keyword-only service functions (``approve(*, session, case_id, actor)``); each raises
``ReviewError`` with a message an officer can read when the case cannot take the step, and
changes nothing then. None commits: the caller (a request, a worker) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from cases import plates
from cases.models import AuditLog, Case, OutboxMessage, PlateCorrection
from cases.registry import lookup_owner
from cases.states import IllegalTransition, Status, transition
from cases.tariff import TariffError, fine_for
from cases.types import LOOKUP_CLASSES, VN_TZ, LookupVehicleType, RejectReason, Role


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
    reason = (
        f"approved; plate corrected from {case.plate_read} to {chosen}, awaiting a supervisor's confirmation"
        if corrected
        else "approved"
    )
    try:
        transition(session, case, to=Status.FILED, actor=actor, reason=reason, at=moment)
    except IllegalTransition as exc:  # pragma: no cover - checked above
        raise ReviewError(str(exc)) from exc
    if corrected:  # issue 8: a second person confirms before any notice goes out
        _record_correction(session, case, from_plate=case.plate_read, to_plate=chosen, actor=actor, at=moment)
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


# --- issue 8: plate corrections confirmed by a second person, the filtered queue and search ------------

CORRECTION_PENDING, CORRECTION_CONFIRMED, CORRECTION_REFUSED = "pending", "confirmed", "refused"
CONFIRMING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _record_correction(
    session: Session, case: Case, *, from_plate: str | None, to_plate: str, actor: str, at: datetime, note: str = ""
) -> PlateCorrection:
    correction = PlateCorrection(
        case_id=case.id,
        from_plate=from_plate,
        to_plate=to_plate,
        requested_by=actor,
        requested_at=at,
        status=CORRECTION_PENDING,
        note=note or None,
    )
    session.add(correction)
    session.flush()
    return correction


def latest_correction(*, session: Session, case_id: int) -> PlateCorrection | None:
    return session.scalar(
        select(PlateCorrection).where(PlateCorrection.case_id == case_id).order_by(PlateCorrection.id.desc()).limit(1)
    )


def notice_blocked(*, session: Session, case_id: int) -> str | None:
    """Why no notice may go out for this case yet (its plate correction is not confirmed), or None.
    The notice worker may call it to skip such a case; the database refuses the Notice row anyway
    (``cases.models.CorrectionPending``)."""
    latest = latest_correction(session=session, case_id=case_id)
    if latest is None or latest.status == CORRECTION_CONFIRMED:
        return None
    return f"plate correction {latest.from_plate or '—'} -> {latest.to_plate} is {latest.status}"


def correct_plate(
    *, session: Session, case_id: int, actor: str, plate: str, note: str = "", now: datetime | None = None
) -> PlateCorrection:
    """Propose another plate for a FILED case whose notice has not gone out (after a supervisor
    refused the last correction, say): the owner and the plate colour follow the new plate; the
    case waits for a supervisor's confirmation again."""
    case = get(session=session, case_id=case_id)
    if case.status != Status.FILED or case.notices:
        raise ReviewError(
            f"case {case.case_number} is {case.status}: a plate can be corrected here only after filing and "
            "before the notice goes out (in review, correct it while approving)"
        )
    chosen = plates.normalize(plate)
    if not plates.is_valid(chosen):
        raise ReviewError(f"case {case.case_number}: expected a Vietnamese plate, got {plate!r}")
    vehicle = lookup_owner(session, chosen)
    if vehicle is None:
        raise ReviewError(f"case {case.case_number}: plate {chosen} is not in the vehicle registry")
    previous = case.plate_confirmed
    if chosen == previous and notice_blocked(session=session, case_id=case.id) is None:
        raise ReviewError(f"case {case.case_number}: the plate is already {chosen}")
    moment = now or datetime.now(UTC)
    case.plate_confirmed = case.plate_key = chosen
    case.plate_colour, case.vehicle_id, case.updated_at = vehicle.plate_colour, vehicle.id, moment
    session.add(AuditLog(case_id=case.id, actor=actor, at=moment,
                         reason=f"plate corrected from {previous} to {chosen}, awaiting a supervisor's confirmation"))
    return _record_correction(session, case, from_plate=previous, to_plate=chosen, actor=actor, at=moment, note=note)


def _decide(
    session: Session, correction_id: int, actor: str, role: Role | str, now: datetime | None
) -> tuple[PlateCorrection, datetime]:
    correction = session.get(PlateCorrection, correction_id)
    if correction is None:
        raise CaseNotFound(f"no plate correction with id {correction_id}")
    if Role(role) not in CONFIRMING_ROLES:
        raise ReviewError(f"only a supervisor may decide a plate correction, not a {role}")
    if correction.status != CORRECTION_PENDING:
        raise ReviewError(f"plate correction {correction_id} was already {correction.status}")
    if correction.requested_by == actor:
        raise ReviewError("a second person must decide a plate correction: you proposed this one")
    return correction, now or datetime.now(UTC)


def confirm_correction(
    *, session: Session, correction_id: int, actor: str, role: Role | str, now: datetime | None = None
) -> PlateCorrection:
    """A supervisor (not the proposer) confirms: the notice may go out. A render_notice outbox
    row that gave up while it waited is made due again."""
    correction, moment = _decide(session, correction_id, actor, role, now)
    correction.status, correction.decided_by, correction.decided_at = CORRECTION_CONFIRMED, actor, moment
    session.add(AuditLog(case_id=correction.case_id, actor=actor, at=moment,
                         reason=f"plate correction {correction.from_plate} -> {correction.to_plate} confirmed"))
    for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.processed_at.is_(None), OutboxMessage.kind == "render_notice")
    ):
        if row.payload.get("case_id") == correction.case_id:
            row.attempts, row.last_error = 0, None
    session.flush()
    return correction


def refuse_correction(
    *, session: Session, correction_id: int, actor: str, role: Role | str, note: str, now: datetime | None = None
) -> PlateCorrection:
    """A supervisor refuses (with a reason): the case stays without a notice until someone
    proposes a plate that is confirmed (``correct_plate``)."""
    if not note.strip():
        raise ReviewError("say why the plate correction is refused")
    correction, moment = _decide(session, correction_id, actor, role, now)
    correction.status, correction.decided_by, correction.decided_at = CORRECTION_REFUSED, actor, moment
    correction.note = ((correction.note + " | ") if correction.note else "") + f"refused: {note.strip()}"
    session.add(AuditLog(case_id=correction.case_id, actor=actor, at=moment,
                         reason=f"plate correction {correction.from_plate} -> {correction.to_plate} refused: "
                                f"{note.strip()}"))
    session.flush()
    return correction


def pending_corrections(*, session: Session, limit: int = 200) -> Sequence[PlateCorrection]:
    return session.scalars(
        select(PlateCorrection)
        .where(PlateCorrection.status == CORRECTION_PENDING)
        .options(selectinload(PlateCorrection.case).selectinload(Case.evidence))
        .order_by(PlateCorrection.requested_at, PlateCorrection.id)
        .limit(limit)
    ).all()


@dataclass(frozen=True)
class CaseFilter:
    """What the queue and the search narrow by; every field optional."""

    status: str | None = None
    camera: str | None = None
    rule: str | None = None
    unit: int | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    plate: str | None = None
    case_number: str | None = None
    date_from: date | None = None  # Vietnam dates, inclusive
    date_to: date | None = None


def find(
    *, session: Session, where: CaseFilter, order: str = "deadline", limit: int = 100, offset: int = 0,
    with_evidence: bool = True, with_notices: bool = False,
) -> tuple[Sequence[Case], int]:
    """Cases matching ``where`` (``order``: ``deadline`` = nearest notification deadline first,
    ``newest`` = latest violation first) and how many match in all. ``with_evidence`` loads
    their evidence rows in one more query (the queue shows a thumbnail; a search list does not)."""
    conditions = []
    if where.status:
        try:
            conditions.append(Case.status == Status(where.status))
        except ValueError as exc:
            raise ReviewError(f"expected a status in {[s.value for s in Status]}, got {where.status!r}") from exc
    if where.camera:
        conditions.append(Case.camera_id == where.camera)
    if where.rule:
        conditions.append(Case.rule == where.rule)
    if where.unit is not None:
        conditions.append(Case.detecting_unit_id == where.unit)
    if where.min_confidence is not None:
        conditions.append(Case.plate_confidence >= where.min_confidence)
    if where.max_confidence is not None:
        conditions.append(Case.plate_confidence < where.max_confidence)
    if where.plate:
        key = plates.normalize(where.plate)
        conditions.append(or_(Case.plate_key == key, Case.plate_read == key))
    if where.case_number:
        conditions.append(Case.case_number == where.case_number.strip().upper())
    if where.date_from:
        conditions.append(Case.occurred_at >= datetime.combine(where.date_from, time(), VN_TZ))
    if where.date_to:
        conditions.append(Case.occurred_at < datetime.combine(where.date_to + timedelta(days=1), time(), VN_TZ))
    ordering = (Case.notify_by, Case.id) if order == "deadline" else (Case.occurred_at.desc(), Case.id.desc())
    query = select(Case).where(*conditions).order_by(*ordering)
    if with_evidence:
        query = query.options(selectinload(Case.evidence))
    if with_notices:
        query = query.options(selectinload(Case.notices))
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    return session.scalars(query.limit(limit).offset(offset)).all(), total
