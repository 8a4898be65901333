"""Types that detection/ owns: detections, plate reads, and the ``violations.detected`` event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

VIOLATION_SCHEMA_VERSION = 1


class ObjectClass(StrEnum):
    """What the project's detector finds. The four vehicle classes match ingest.camera.VehicleClass."""

    MOTORBIKE = "motorbike"
    CAR = "car"
    BUS = "bus"
    TRUCK = "truck"
    PLATE = "plate"


class Rule(StrEnum):
    RED_LIGHT = "red_light"
    SPEEDING = "speeding"
    WRONG_WAY = "wrong_way"
    WRONG_LANE = "wrong_lane"
    NO_STOPPING = "no_stopping"


class SignalPhase(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in image pixels."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def bottom_centre(self) -> tuple[float, float]:
        """Where the object touches the road: the point the homography maps to metres."""
        return ((self.x1 + self.x2) / 2, self.y2)

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)


@dataclass(frozen=True)
class Detection:
    """One object in one frame; ``track_id`` is set when a tracker followed it."""

    cls: ObjectClass
    box: Box
    confidence: float
    track_id: int | None = None


@dataclass(frozen=True)
class PlateRead:
    """One OCR read of one plate crop. ``valid`` says whether the text fits the plate grammar;
    an invalid read is kept and flagged, never corrected."""

    text: str
    char_confidences: tuple[float, ...]
    layout: str  # "one-row" | "two-row"
    valid: bool

    @property
    def confidence(self) -> float:
        """The weakest character decides how much the whole read can be trusted."""
        return min(self.char_confidences, default=0.0)


# --- the violations.detected message (pydantic: it crosses a process boundary) ---------------


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlateCandidate(_Event):
    text: str
    confidence: float = Field(ge=0, le=1)
    votes: int = Field(ge=1)
    frame_sequence: int
    valid: bool
    layout: str


class EvidenceRef(_Event):
    role: str  # "before" | "at" | "after" | "vehicle" | "plate" | "strip"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    key: str  # storage key in the evidence store
    frame_sequence: int | None = None


class Measurement(_Event):
    signal_phase: SignalPhase | None = None
    seconds_since_red: float | None = None  # at the crossing, interpolated between two frames
    # red light: at the last point still before the line (the crossing is proven after this)
    seconds_since_red_min: float | None = None
    speed_kmh: float | None = None
    speed_uncertainty_kmh: float | None = None
    speed_limit_kmh: float | None = None
    speed_lower_kmh: float | None = None  # one-sided 95 % lower bound of the speed
    speed_over_kmh: float | None = None  # lower bound minus the limit: what the fine is based on
    speed_bracket: str | None = None  # the fine table's row, e.g. "10-20" (km/h over)
    speed_bracket_ref: str | None = None  # its legal reference, e.g. "168/2024 Art 6.5.dd"
    distance_m: float | None = None  # the timed stretch
    dwell_s: float | None = None
    signal_source: str | None = None  # red light: "pixels" (the lamp region) or "topic:<name>"


class ViolationEvent(_Event):
    """Version 1 of ``violations.detected``; validated when produced and when consumed."""

    schema_version: int = VIOLATION_SCHEMA_VERSION
    violation_id: str
    camera_id: str
    rule: Rule
    rule_version: str
    occurred_at: datetime
    frame_sequence: int
    track_id: int
    vehicle_class: str
    plate_candidates: list[PlateCandidate]
    plate_text: str | None  # the vote's winner; None = needs manual reading
    plate_confidence: float
    needs_manual_plate: bool
    measurement: Measurement
    evidence: list[EvidenceRef]
    model_versions: dict[str, str]
    thresholds: dict[str, float] = {}  # the rule's thresholds, signed with the evidence
    evidence_signature: str = ""


def violation_id(camera_id: str, track_key: str, rule: Rule) -> str:
    """Deterministic id: a replay of the same frames yields the same id (idempotent downstream).

    ``track_key`` must itself be deterministic, e.g. the first frame sequence of the track plus
    the track id.
    """
    digest = hashlib.sha256(f"{camera_id}|{track_key}|{rule.value}".encode()).hexdigest()
    return f"v-{digest[:24]}"
