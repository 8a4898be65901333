"""The fine tariff: data in ``tariff.yaml`` (Decree 168/2024 seeded), looked up by rule, vehicle
class, measured value and the date of the violation.

Speeding is bracketed on km/h over the limit, measured speed minus its uncertainty: the driver gets
the benefit of the measurement's doubt.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cases.types import Fine

TARIFF_FILE = Path(__file__).resolve().parent / "tariff.yaml"

# detector / registry vehicle class -> tariff column (Art. 6 cars and similar, Art. 7 motorbikes)
TARIFF_CLASS: dict[str, str] = {
    "car": "car",
    "bus": "car",
    "truck": "car",
    "motorbike": "motorbike",
    "electric": "motorbike",
}


class TariffError(ValueError):
    """No fine applies, or the tariff file is wrong; the message says which."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Line(_Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0)
    points: int = Field(ge=0, le=12)
    ref: str = Field(pattern=r"^\d+\.\d+\.\w+$")

    @model_validator(mode="after")
    def _ordered(self) -> Line:
        if self.min > self.max:
            raise ValueError(f"expected min <= max, got {self.min} > {self.max}")
        return self


class Bracket(Line):
    over_from: float
    from_inclusive: bool
    over_to: float | None
    to_inclusive: bool

    def contains(self, over: float) -> bool:
        above = over >= self.over_from if self.from_inclusive else over > self.over_from
        if self.over_to is None:
            return above
        below = over <= self.over_to if self.to_inclusive else over < self.over_to
        return above and below


class RuleEntry(_Strict):
    behaviour_vi: str
    behaviour_en: str
    car: Line | list[Bracket] | None = None
    motorbike: Line | list[Bracket] | None = None


class Tariff(_Strict):
    version: str
    decree: str
    effective_from: date
    effective_to: date | None
    rules: dict[str, RuleEntry]

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class TariffFile(_Strict):
    tariffs: list[Tariff] = Field(min_length=1)


def load_tariffs(path: Path = TARIFF_FILE) -> list[Tariff]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return TariffFile.model_validate(raw).tariffs
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise TariffError(f"{path}: invalid tariff file: {exc}") from exc


@cache
def _default_tariffs() -> tuple[Tariff, ...]:
    return tuple(load_tariffs())


def legal_reference(ref: str, decree: str) -> str:
    """``"6.9.b"`` -> ``"điểm b khoản 9 Điều 6 Nghị định 168/2024/NĐ-CP"``."""
    article, clause, point = ref.split(".")
    return f"điểm {point} khoản {clause} Điều {article} {decree}"


def _measured(measurement: Any, name: str) -> float | None:
    value = measurement.get(name) if isinstance(measurement, dict) else getattr(measurement, name, None)
    return None if value is None else float(value)


def behaviour(
    rule: str, *, on: date, tariffs: list[Tariff] | tuple[Tariff, ...] | None = None
) -> tuple[str, str]:
    """(Vietnamese, English) description of the act a rule punishes."""
    tariff = _tariff_on(on, tariffs)
    entry = tariff.rules.get(str(rule))
    if entry is None:
        raise TariffError(
            f"expected a rule in tariff {tariff.version} ({sorted(tariff.rules)}), got {rule!r}"
        )
    return entry.behaviour_vi, entry.behaviour_en


def _tariff_on(on: date, tariffs: list[Tariff] | tuple[Tariff, ...] | None) -> Tariff:
    for tariff in tariffs if tariffs is not None else _default_tariffs():
        if tariff.in_force(on):
            return tariff
    raise TariffError(f"no tariff in force on {on.isoformat()}")


def fine_for(
    rule: str,
    vehicle_class: str,
    measurement: Any,
    on: date,
    *,
    tariffs: list[Tariff] | tuple[Tariff, ...] | None = None,
) -> Fine:
    """The fine for ``rule`` committed by a ``vehicle_class`` on date ``on``.

    ``measurement`` is a ``detection.types.Measurement`` or a dict with the same names; speeding
    needs ``speed_kmh`` and ``speed_limit_kmh`` (``speed_uncertainty_kmh`` is subtracted).
    Raises ``TariffError`` naming the problem when no line applies.
    """
    tariff = _tariff_on(on, tariffs)
    entry = tariff.rules.get(str(rule))
    if entry is None:
        raise TariffError(
            f"expected a rule in tariff {tariff.version} ({sorted(tariff.rules)}), got {rule!r}"
        )
    column = TARIFF_CLASS.get(str(vehicle_class))
    if column is None:
        raise TariffError(f"expected a vehicle class in {sorted(TARIFF_CLASS)}, got {vehicle_class!r}")
    lines = getattr(entry, column)
    if lines is None:
        raise TariffError(f"rule {rule!r} has no fine for {column} in tariff {tariff.version}")
    if isinstance(lines, list):
        speed = _measured(measurement, "speed_kmh")
        limit = _measured(measurement, "speed_limit_kmh")
        if speed is None or limit is None:
            raise TariffError(f"rule {rule!r} needs speed_kmh and speed_limit_kmh, got {measurement!r}")
        over = speed - (_measured(measurement, "speed_uncertainty_kmh") or 0.0) - limit
        line = next((b for b in lines if b.contains(over)), None)
        if line is None:
            raise TariffError(f"{over:.1f} km/h over the limit is in no bracket of rule {rule!r} ({column})")
    else:
        line = lines
    return Fine(
        min_vnd=line.min,
        max_vnd=line.max,
        points=line.points,
        reference=legal_reference(line.ref, tariff.decree),
        tariff_version=tariff.version,
        behaviour_vi=entry.behaviour_vi,
        behaviour_en=entry.behaviour_en,
    )
