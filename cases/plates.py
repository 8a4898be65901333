"""Vietnamese licence-plate grammar (see shared/DOMAIN.md, "Licence plates").

Plates are compared on their letters and digits only (``normalize``); the printed form, the layout
and the colour are separate fields. ``parse`` never corrects a read: it says which plate kinds a
text can be, and an empty answer means the text is not a Vietnamese plate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PROV = r"(?:1[124-9]|[23]\d|4[013789]|[5-7]\d|8[0-68-9]|9[02-57-9])"
L20 = r"[A-HK-NPS-VXYZ]"
MOTO_SECOND = r"(?:[A-FHK-NPRS-VXYZ]|[1-9])"
SERIAL = r"\d{4,5}"
SPECIAL_SERIES = ("LD", "DA", "KT", "MK", "HC", "CD", "TĐ", "MĐ", "R", "T")
FOREIGN_SERIES = ("NG", "QT", "CV", "NN")
BLUE_SERIES = frozenset("ABCDEFGHKLM")


class PlateKind(StrEnum):
    CAR = "car"
    MOTORBIKE = "motorbike"
    SPECIAL = "special"
    FOREIGN = "foreign"


class Layout(StrEnum):
    ONE_ROW = "one-row"
    TWO_ROW = "two-row"


class PlateColour(StrEnum):
    """Background colour; the text colour follows from it."""

    WHITE = "white"  # private, black text
    YELLOW = "yellow"  # commercial transport, black text
    BLUE = "blue"  # state bodies, white text
    RED = "red"  # military: recognised, then excluded from this process


_PATTERNS: dict[PlateKind, re.Pattern[str]] = {
    PlateKind.CAR: re.compile(rf"^(?P<prov>{PROV})(?P<series>{L20})(?P<serial>{SERIAL})$"),
    PlateKind.MOTORBIKE: re.compile(
        rf"^(?P<prov>{PROV})(?P<series>{L20}{MOTO_SECOND})(?P<serial>{SERIAL})$"
    ),
    PlateKind.SPECIAL: re.compile(
        rf"^(?P<prov>{PROV})(?P<series>{'|'.join(sorted(SPECIAL_SERIES, key=len, reverse=True))})"
        rf"(?P<serial>{SERIAL})$"
    ),
    PlateKind.FOREIGN: re.compile(
        rf"^(?P<prov>{PROV})(?P<series>{'|'.join(FOREIGN_SERIES)})(?P<serial>\d{{3,5}})$"
    ),
}

_STRIP = re.compile(r"[\s\-./·]")


@dataclass(frozen=True)
class PlateParse:
    """One way of reading a normalised plate text."""

    kind: PlateKind
    province: str
    series: str
    serial: str


def normalize(text: str) -> str:
    """Letters and digits only, upper case: ``"59-X1 / 234.56"`` -> ``"59X123456"``."""
    return _STRIP.sub("", text).upper()


def parse(text: str) -> list[PlateParse]:
    """Every plate kind the text can be; ``[]`` when it fits none (an invalid read).

    ``29B11234`` is both a car plate (series B, serial 11234) and a legacy motorbike plate
    (series B1, serial 1234): the layout settles it, so both are returned.
    """
    plate = normalize(text)
    found = []
    for kind, pattern in _PATTERNS.items():
        match = pattern.match(plate)
        if match:
            found.append(PlateParse(kind, match["prov"], match["series"], match["serial"]))
    return found


def is_valid(text: str) -> bool:
    """True when the text fits the Vietnamese plate grammar in some way."""
    return bool(parse(text))


def serial_printed(serial: str) -> str:
    """A serial as printed: ``12345`` -> ``123.45``; 4-digit serials stay as they are."""
    return f"{serial[:3]}.{serial[3:]}" if len(serial) == 5 else serial


def printed(text: str, layout: Layout, kind: PlateKind | None = None) -> str:
    """The printed form, rows joined by ``" / "``.

    car one-row ``51A-123.45``, car two-row ``51A / 123.45``, motorbike ``59-X1 / 234.56``,
    special ``60LD-005.84``. Raises ``ValueError`` for a text that is not a plate.
    """
    options = parse(text)
    if not options:
        raise ValueError(f"expected a Vietnamese plate, got {text!r}")
    chosen = next((p for p in options if p.kind == kind), options[0]) if kind else options[0]
    head = f"{chosen.province}{chosen.series}"
    serial = serial_printed(chosen.serial)
    if chosen.kind == PlateKind.MOTORBIKE:
        head = f"{chosen.province}-{chosen.series}"
        return f"{head} / {serial}"
    if layout == Layout.TWO_ROW:
        return f"{head} / {serial}"
    return f"{head}-{serial}"


def colour_allowed(text: str, colour: PlateColour) -> bool:
    """Blue (state) plates use series A–H, K, L, M only; the other colours any series."""
    if colour != PlateColour.BLUE:
        return True
    return any(p.series[0] in BLUE_SERIES for p in parse(text))
