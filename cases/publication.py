"""What the public lookup shows: published cases for a plate and vehicle type, as ``PublicCase``
values that carry no personal data (no owner, no ID, no address of anyone but the police unit)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cases.models import Case
from cases.review import search_by_plate
from cases.states import PUBLIC, Outcome, Status
from cases.tariff import TariffError, behaviour
from cases.types import (
    PLATE_COLOUR_VI,
    VEHICLE_CLASS_VI,
    VN_TZ,
    LookupVehicleType,
    PublicCase,
    format_vn_time,
)

NOT_PENALISED = "Chưa xử phạt"
PENALISED = "Đã xử phạt"
PUBLIC_EVIDENCE_ROLES = ("before", "at", "after")


def is_public(case: Case) -> bool:
    return case.status in PUBLIC and case.outcome not in (Outcome.DISMISSED, Outcome.EXPIRED)


def penalty_status(case: Case) -> str:
    penalised = case.status == Status.DECIDED or (
        case.status == Status.CLOSED and case.outcome == Outcome.PAID
    )
    return PENALISED if penalised else NOT_PENALISED


def to_public(case: Case) -> PublicCase:
    try:
        act = behaviour(case.rule, on=case.occurred_at.astimezone(VN_TZ).date())[0]
    except TariffError:
        act = case.rule
    resolving = case.resolving_unit
    return PublicCase(
        case_number=case.case_number,
        plate=case.vehicle.plate_printed if case.vehicle else (case.plate_key or ""),
        plate_colour=PLATE_COLOUR_VI.get(case.plate_colour or "", case.plate_colour or ""),
        vehicle_type=VEHICLE_CLASS_VI.get(case.vehicle_class, case.vehicle_class),
        time=format_vn_time(case.occurred_at),
        place=case.place,
        behaviour=act,
        status=penalty_status(case),
        detecting_unit=case.detecting_unit.name if case.detecting_unit else "",
        resolving_unit=resolving.name if resolving else "",
        resolving_address=resolving.address if resolving else "",
        resolving_phone=resolving.phone if resolving else "",
        evidence_sha256=tuple(e.sha256 for e in case.evidence if e.role in PUBLIC_EVIDENCE_ROLES),
    )


def lookup(*, session: Session, plate: str, vehicle_type: LookupVehicleType | str) -> list[PublicCase]:
    """Published cases of one vehicle, newest first."""
    return [
        to_public(c)
        for c in search_by_plate(session=session, plate=plate, vehicle_type=vehicle_type)
        if is_public(c)
    ]


def evidence_is_public(*, session: Session, sha256: str) -> bool:
    """True when an image belongs to a published case in a role the public may see."""
    from sqlalchemy import select

    from cases.models import Evidence

    rows = session.scalars(
        select(Case)
        .join(Evidence, Evidence.case_id == Case.id)
        .where(Evidence.sha256 == sha256, Evidence.role.in_(PUBLIC_EVIDENCE_ROLES))
    ).all()
    return any(is_public(c) for c in rows)
