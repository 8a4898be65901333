"""Owner identification status of the cases in review: which cannot be filed without an officer.

A plate that is not in the registry, that could not be read, or whose registry entry does not fit
what the camera saw (a car plate on a motorbike; ``29B11234`` read without its layout) leaves the
case waiting, visibly, on the desk's "waiting" list: never filed against a guessed owner. The
status is computed when asked (not stored), so a registry import takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import plates
from cases.models import Case, Vehicle
from cases.states import Status

MOTORBIKE_CLASSES = frozenset({"motorbike", "electric"})


class OwnerMatch(StrEnum):
    FOUND = "found"
    UNREADABLE = "unreadable"  # no plate read: an officer reads it from the images
    NOT_IN_REGISTRY = "not_in_registry"
    AMBIGUOUS = "ambiguous"  # the registry entry does not fit the vehicle seen, or the plate reads two ways


MATCH_VI: dict[OwnerMatch, str] = {
    OwnerMatch.FOUND: "Đã xác định chủ xe",
    OwnerMatch.UNREADABLE: "Chưa đọc được biển số",
    OwnerMatch.NOT_IN_REGISTRY: "Biển số không có trong cơ sở dữ liệu đăng ký",
    OwnerMatch.AMBIGUOUS: "Biển số không khớp loại xe, cần cán bộ xác minh",
}


def classify(case: Case, vehicle: Vehicle | None) -> OwnerMatch:
    plate = case.plate_key
    if not plate or (case.needs_manual_plate and not case.plate_confirmed):
        return OwnerMatch.UNREADABLE
    if vehicle is None:
        return OwnerMatch.NOT_IN_REGISTRY
    seen_bike = case.vehicle_class in MOTORBIKE_CLASSES
    registered_bike = vehicle.vehicle_type in MOTORBIKE_CLASSES
    if seen_bike != registered_bike:
        return OwnerMatch.AMBIGUOUS
    kinds = {p.kind for p in plates.parse(plate)}
    if len(kinds) > 1 and case.plate_layout is None and not case.plate_confirmed:
        return OwnerMatch.AMBIGUOUS
    return OwnerMatch.FOUND


@dataclass(frozen=True)
class Waiting:
    case: Case
    match: OwnerMatch


def waiting(*, session: Session, unit: int | None = None, limit: int = 200) -> list[Waiting]:
    """Cases in review whose owner cannot be identified without an officer, oldest deadline first."""
    query = (
        select(Case, Vehicle)
        .outerjoin(Vehicle, Vehicle.plate_normalized == Case.plate_key)
        .where(Case.status == Status.EXTRACTED)
        .order_by(Case.notify_by, Case.id)
    )
    if unit is not None:
        query = query.where(Case.detecting_unit_id == unit)
    found: list[Waiting] = []
    for case, vehicle in session.execute(query).all():
        match = classify(case, vehicle)
        if match != OwnerMatch.FOUND:
            found.append(Waiting(case, match))
            if len(found) >= limit:
                break
    return found
