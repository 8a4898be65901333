"""Camera configuration: one YAML file per camera, the same format for real cameras and the simulator.

All geometry is given in image pixels (what an installer clicks on a reference frame); the
calibration maps image points to road-plane metres with a homography, checked on load.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Point = tuple[float, float]


class VehicleClass(StrEnum):
    MOTORBIKE = "motorbike"
    CAR = "car"
    BUS = "bus"
    TRUCK = "truck"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(_Strict):
    code: str
    name: str
    address: str = ""
    phone: str = ""


class Gps(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CalibrationPoint(_Strict):
    image: Point
    world: Point  # metres on the road plane


class DistanceCheck(_Strict):
    """Two image points a known distance apart on the road: the homography must reproduce it."""

    image_a: Point
    image_b: Point
    distance_m: float = Field(gt=0)
    tolerance: float = 0.02


class Calibration(_Strict):
    points: list[CalibrationPoint] = Field(min_length=4)
    checks: list[DistanceCheck] = []


class Lane(_Strict):
    id: str
    polygon: list[Point] = Field(min_length=3)
    flow: tuple[Point, Point]  # image points, upstream -> downstream: the legal direction
    allowed: list[VehicleClass] = list(VehicleClass)


class NoStoppingZone(_Strict):
    id: str
    polygon: list[Point] = Field(min_length=3)
    max_dwell_s: float = Field(gt=0)


class SpeedSegment(_Strict):
    entry: tuple[Point, Point]  # image line where timing starts
    exit: tuple[Point, Point]  # image line where timing stops
    limits_kmh: dict[VehicleClass, float]
    tolerance_kmh: float = 0.0


class SignalSource(StrEnum):
    PIXELS = "pixels"  # phase classified from the light's region in the image
    TOPIC = "topic"  # phase from an external signal-controller feed


class Signal(_Strict):
    source: SignalSource = SignalSource.PIXELS
    region: tuple[int, int, int, int] | None = None  # x, y, w, h of the light housing
    topic: str | None = None
    red_grace_s: float = 0.0  # crossings this soon after red begins are not violations
    yellow_is_violation: bool = False

    @model_validator(mode="after")
    def _source_has_input(self) -> Signal:
        if self.source == SignalSource.PIXELS and self.region is None:
            raise ValueError("signal.source is 'pixels' but signal.region is missing")
        if self.source == SignalSource.TOPIC and not self.topic:
            raise ValueError("signal.source is 'topic' but signal.topic is missing")
        return self


class CameraConfig(_Strict):
    """Identity, place, calibration and scene geometry of one camera."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    name: str
    address: str
    gps: Gps
    direction: str = ""  # direction of travel watched, e.g. "northbound"
    unit: Unit
    resolution: tuple[int, int] = (1280, 720)
    fps: float = Field(default=10.0, gt=0)
    calibration: Calibration
    stop_line: tuple[Point, Point] | None = None
    lanes: list[Lane] = []
    no_stopping: list[NoStoppingZone] = []
    speed: SpeedSegment | None = None
    signal: Signal | None = None

    @field_validator("resolution")
    @classmethod
    def _resolution_positive(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) <= 0:
            raise ValueError(f"expected a positive width and height, got {value}")
        return value

    @model_validator(mode="after")
    def _calibration_reproduces_checks(self) -> CameraConfig:
        for check in self.calibration.checks:
            measured = self.distance_m(check.image_a, check.image_b)
            error = abs(measured - check.distance_m) / check.distance_m
            if error > check.tolerance:
                raise ValueError(
                    f"calibration check failed: expected {check.distance_m:.2f} m between "
                    f"{check.image_a} and {check.image_b}, got {measured:.2f} m "
                    f"({error:.1%} off, tolerance {check.tolerance:.0%})"
                )
        return self

    @cached_property
    def homography(self) -> np.ndarray:
        """3x3 matrix mapping image pixels to road-plane metres."""
        src = np.array([p.image for p in self.calibration.points], dtype=np.float64)
        dst = np.array([p.world for p in self.calibration.points], dtype=np.float64)
        matrix, _ = cv2.findHomography(src, dst)
        if matrix is None:
            raise ValueError("calibration points are degenerate (collinear or repeated)")
        return matrix

    @cached_property
    def inverse_homography(self) -> np.ndarray:
        """3x3 matrix mapping road-plane metres to image pixels."""
        return np.linalg.inv(self.homography)

    def to_world(self, points: np.ndarray | list[Point]) -> np.ndarray:
        """Image pixels (N, 2) -> road-plane metres (N, 2)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.homography).reshape(-1, 2)

    def to_image(self, points: np.ndarray | list[Point]) -> np.ndarray:
        """Road-plane metres (N, 2) -> image pixels (N, 2)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.inverse_homography).reshape(-1, 2)

    def distance_m(self, a: Point, b: Point) -> float:
        world = self.to_world([a, b])
        return float(np.linalg.norm(world[1] - world[0]))


class CameraConfigError(ValueError):
    """A camera file that cannot be used; the message names the file and the field."""


def load_camera(path: str | Path) -> CameraConfig:
    """Read and validate one camera YAML file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CameraConfigError(f"{path}: cannot read camera file: {exc}") from exc
    if not isinstance(raw, dict):
        raise CameraConfigError(f"{path}: expected a mapping, got {type(raw).__name__}")
    try:
        return CameraConfig.model_validate(raw)
    except ValidationError as exc:
        raise CameraConfigError(f"{path}: invalid camera configuration:\n{exc}") from exc


def load_cameras(directory: str | Path) -> dict[str, CameraConfig]:
    """Every ``*.yaml`` camera in a directory, keyed by id; duplicate ids are an error."""
    cameras: dict[str, CameraConfig] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        camera = load_camera(path)
        if camera.id in cameras:
            raise CameraConfigError(f"{path}: duplicate camera id {camera.id!r}")
        cameras[camera.id] = camera
    return cameras
