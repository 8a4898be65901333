"""The vehicle registry: plate -> vehicle -> owner. A CSV import for data from outside (the
simulator writes one), a lookup for owner identification.

CSV columns (header names are matched case-insensitively, with a few aliases, see ``ALIASES``):
plate_text, owner_name, address, vehicle_type (or vehicle_class: car/motorbike/bus/truck/electric,
Vietnamese labels such as "Xe ô tô con" understood), and optionally id_number, phone, plate colour
(plate_colour, else colour: white/yellow/blue/red), plate_printed, brand, email. The simulator's
``registry.csv`` (ingest/sim/registry.py) imports as it is. Each row is validated; a bad row stops the
import with an error naming the file, the line and the field, and nothing of that file is kept
(the caller's transaction rolls back).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import plates
from cases.models import Owner, Vehicle
from cases.pii import PiiCipher

VEHICLE_TYPES = ("car", "motorbike", "bus", "truck", "electric")

# canonical column -> accepted header names
ALIASES: dict[str, tuple[str, ...]] = {
    "plate_text": ("plate_text", "plate", "bien_so", "plate_number"),
    "owner_name": ("owner_name", "name", "owner", "chu_xe"),
    "address": ("address", "owner_address", "dia_chi"),
    "id_number": ("id_number", "national_id", "cccd", "id"),
    "phone": ("phone", "phone_number", "so_dien_thoai"),
    "vehicle_type": ("vehicle_class", "vehicle_type", "type", "loai_xe"),
    "colour": ("plate_colour", "plate_color", "mau_bien", "colour", "color"),
    "plate_printed": ("plate_printed", "printed"),
    "brand": ("brand", "make", "nhan_hieu"),
    "email": ("email", "e_mail"),
}
REQUIRED = ("plate_text", "owner_name", "address", "vehicle_type")


# Vietnamese vehicle-type labels -> our class, first match wins (most specific first)
_VI_TYPES = (
    ("điện", "electric"),
    ("mô tô", "motorbike"),
    ("xe máy", "motorbike"),
    ("khách", "bus"),
    ("tải", "truck"),
    ("ô tô", "car"),
)


def vehicle_type_of(value: str) -> str | None:
    value = value.strip().lower()
    if value in VEHICLE_TYPES:
        return value
    return next((ours for label, ours in _VI_TYPES if label in value), None)


class RegistryImportError(ValueError):
    pass


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    updated: int


@dataclass(frozen=True)
class OwnerDetails:
    """Decrypted owner data: only for roles and documents that need it (the notice)."""

    name: str
    address: str
    id_number: str
    phone: str
    email: str


def _columns(header: list[str], path: Path) -> dict[str, str]:
    normal = {h.strip().lower().replace(" ", "_").replace("-", "_"): h for h in header}
    found: dict[str, str] = {}
    for canonical, names in ALIASES.items():
        for name in names:
            if name in normal:
                found[canonical] = normal[name]
                break
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise RegistryImportError(
            f"{path}: expected columns {list(REQUIRED)}, missing {missing}; got header {header}"
        )
    return found


def import_registry_csv(session: Session, path: str | Path, *, pii_key: str) -> ImportResult:
    """Insert or update every row of the CSV (upsert on the normalised plate). Does not commit."""
    path = Path(path)
    cipher = PiiCipher(pii_key)
    inserted = updated = 0
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise RegistryImportError(f"{path}: cannot read registry file: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise RegistryImportError(f"{path}: expected a header row, got an empty file")
        cols = _columns(list(reader.fieldnames), path)
        seen: set[str] = set()
        for line, row in enumerate(reader, start=2):

            def field(name: str, row: dict[str, str] = row) -> str:
                return (row.get(cols[name]) or "").strip() if name in cols else ""

            plate = plates.normalize(field("plate_text"))
            if not plates.is_valid(plate):
                raise RegistryImportError(
                    f"{path}:{line}: plate_text: expected a Vietnamese plate, got {field('plate_text')!r}"
                )
            if plate in seen:
                raise RegistryImportError(
                    f"{path}:{line}: plate_text: plate {plate} appears twice in the file"
                )
            seen.add(plate)
            vtype = vehicle_type_of(field("vehicle_type"))
            if vtype is None:
                got = field("vehicle_type")
                raise RegistryImportError(
                    f"{path}:{line}: vehicle_type: expected one of {list(VEHICLE_TYPES)}, got {got!r}"
                )
            colour = (field("colour") or "white").lower()
            if colour not in {c.value for c in plates.PlateColour}:
                known = [c.value for c in plates.PlateColour]
                raise RegistryImportError(f"{path}:{line}: colour: expected one of {known}, got {colour!r}")
            name = field("owner_name")
            if not name:
                raise RegistryImportError(f"{path}:{line}: owner_name: expected a name, got an empty value")
            owner = Owner(
                name_enc=cipher.encrypt(name),
                address_enc=cipher.encrypt(field("address")),
                id_number_enc=cipher.encrypt(field("id_number")),
                phone_enc=cipher.encrypt(field("phone")),
                email_enc=cipher.encrypt(field("email")),
            )
            session.add(owner)
            session.flush()
            kind = plates.PlateKind.MOTORBIKE if vtype in ("motorbike", "electric") else plates.PlateKind.CAR
            layout = plates.Layout.TWO_ROW if kind == plates.PlateKind.MOTORBIKE else plates.Layout.ONE_ROW
            printed = field("plate_printed") or plates.printed(plate, layout, kind)
            vehicle = session.scalar(select(Vehicle).where(Vehicle.plate_normalized == plate))
            if vehicle is None:
                session.add(
                    Vehicle(
                        plate_normalized=plate,
                        plate_printed=printed,
                        vehicle_type=vtype,
                        plate_colour=colour,
                        brand=field("brand"),
                        owner_id=owner.id,
                    )
                )
                inserted += 1
            else:
                vehicle.plate_printed, vehicle.vehicle_type, vehicle.plate_colour = printed, vtype, colour
                vehicle.brand, vehicle.owner_id, vehicle.updated_at = (
                    field("brand"),
                    owner.id,
                    datetime.now(UTC),
                )
                updated += 1
    session.flush()
    return ImportResult(inserted=inserted, updated=updated)


def lookup_owner(session: Session, plate_text: str) -> Vehicle | None:
    """The registry entry for a plate (compared on letters and digits only), owner attached."""
    return session.scalar(select(Vehicle).where(Vehicle.plate_normalized == plates.normalize(plate_text)))


def owner_details(owner: Owner, *, pii_key: str) -> OwnerDetails:
    cipher = PiiCipher(pii_key)
    return OwnerDetails(
        name=cipher.decrypt(owner.name_enc),
        address=cipher.decrypt(owner.address_enc),
        id_number=cipher.decrypt(owner.id_number_enc),
        phone=cipher.decrypt(owner.phone_enc),
        email=cipher.decrypt(owner.email_enc),
    )
