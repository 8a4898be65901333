"""Types the simulator owns: its options and the ground truth it writes beside every frame.

The ground truth is pydantic (it is written to ``truth.jsonl`` / ``violations.json`` and read by
other processes); ``TRUTH_SCHEMA_VERSION`` is bumped on any incompatible change and the JSON schema
is exported to ``ingest/sim/truth.schema.json`` by ``export_schema``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from detection.types import Rule, SignalPhase
from ingest.camera import VehicleClass

TRUTH_SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("truth.schema.json")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalTiming(_Model):
    """Fixed-time signal plan (seconds); the cycle starts with green at ``offset_s``."""

    green_s: float = Field(default=20.0, gt=0)
    yellow_s: float = Field(default=3.0, gt=0)
    red_s: float = Field(default=12.0, gt=0)
    offset_s: float = 0.0

    @property
    def cycle_s(self) -> float:
        return self.green_s + self.yellow_s + self.red_s

    def phase(self, t: float) -> tuple[SignalPhase, float]:
        """Phase at simulated time ``t`` (seconds) and the seconds since that phase began."""
        u = (t - self.offset_s) % self.cycle_s
        if u < self.green_s:
            return SignalPhase.GREEN, u
        if u < self.green_s + self.yellow_s:
            return SignalPhase.YELLOW, u - self.green_s
        return SignalPhase.RED, u - self.green_s - self.yellow_s


class ViolationRates(_Model):
    """Share of spawned vehicles that intend each violation (the labels come from what happened)."""

    red_light: float = Field(default=0.1, ge=0, le=1)
    speeding: float = Field(default=0.25, ge=0, le=1)
    wrong_way: float = Field(default=0.02, ge=0, le=1)
    wrong_lane: float = Field(default=0.03, ge=0, le=1)
    no_stopping: float = Field(default=0.05, ge=0, le=1)


class SimOptions(_Model):
    """Realism switches and traffic settings. Times (``*_at_s``) are seconds from the start."""

    fps: float | None = Field(default=None, gt=0)  # None: the camera's fps
    night: bool = False
    rain: bool = False
    glare: bool = False
    motion_blur: bool = False
    soften: float = Field(default=0.6, ge=0)  # lens softness (Gaussian sigma, px); 0 = razor sharp
    vignette: bool = True
    overlay: bool = True  # burned-in date/time and camera id, as traffic cameras print them
    noise: float = Field(default=3.0, ge=0)  # sensor noise sigma, grey levels
    jpeg_quality: int = Field(default=85, ge=10, le=100)
    drop_rate: float = Field(default=0.0, ge=0, lt=1)
    knocked_at_s: float | None = None
    covered_at_s: float | None = None
    density: float = Field(default=1.0, gt=0)  # multiplies the arrival rate
    motorbike_share: float = Field(default=0.7, ge=0, le=1)
    bus_share: float = Field(default=0.12, ge=0, le=1)  # of the vehicles that are not motorbikes
    truck_share: float = Field(default=0.18, ge=0, le=1)
    signal: SignalTiming = SignalTiming()
    violations: ViolationRates = ViolationRates()
    warmup_s: float = Field(default=20.0, ge=0)  # simulate this long before the first frame

    def with_rates(self, rates: Mapping[str, float]) -> SimOptions:
        """A copy whose violation rates are ``rates`` (rule -> share), the others as they are."""
        return self.model_copy(update={"violations": self.violations.model_copy(update=dict(rates))})


class TruthVehicle(_Model):
    track_id: int
    cls: VehicleClass
    box: tuple[float, float, float, float]  # x1, y1, x2, y2, clipped to the frame
    visible_fraction: float = Field(ge=0, le=1)  # inside the frame and not hidden by nearer vehicles
    in_frame_fraction: float = Field(ge=0, le=1)  # inside the frame (occlusion aside)
    plate_text: str  # normalised, e.g. "59X123456"
    plate_printed: str  # e.g. "59-X1 / 234.56"
    plate_layout: str
    plate_colour: str
    plate_box: tuple[float, float, float, float] | None  # None when the plate faces away or is hidden
    plate_visible_fraction: float = Field(ge=0, le=1)
    lane: str | None
    speed_kmh: float
    heading: int  # +1 with the lane's flow, -1 against it
    ground_world: tuple[float, float]  # metres: the ground point nearest the camera


class TruthViolation(_Model):
    rule: Rule
    track_id: int
    cls: VehicleClass
    plate_text: str
    plate_printed: str
    time_ns: int
    t_s: float  # seconds since the simulation start
    frame_sequence: int  # the first frame at or after the event
    signal_phase: SignalPhase | None = None
    seconds_since_red: float | None = None
    speed_kmh: float | None = None
    speed_limit_kmh: float | None = None
    dwell_s: float | None = None
    lane: str | None = None
    zone: str | None = None


class FrameTruth(_Model):
    schema_version: int = TRUTH_SCHEMA_VERSION
    camera_id: str
    sequence: int
    captured_at_ns: int
    t_s: float
    dropped_before: int = 0  # frames dropped just before this one
    signal_phase: SignalPhase | None
    knocked: bool = False
    covered: bool = False
    vehicles: list[TruthVehicle]
    violations: list[TruthViolation] = []  # violations whose moment falls on this frame


def truth_schema() -> dict[str, object]:
    """JSON schema of one ``truth.jsonl`` line (``FrameTruth``)."""
    schema = FrameTruth.model_json_schema()
    schema["$id"] = f"https://phatnguoi.invalid/schemas/sim-truth-v{TRUTH_SCHEMA_VERSION}.json"
    return schema


def export_schema(path: Path = SCHEMA_PATH) -> Path:
    path.write_text(json.dumps(truth_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
