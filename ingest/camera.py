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


#: Vietnam's extent with a margin: a point outside it is a typo or swapped coordinates.
VIETNAM_LAT = (8.0, 24.0)
VIETNAM_LON = (102.0, 110.0)
#: A calibration check may allow at most this relative error (the issue's 2 %).
MAX_CHECK_TOLERANCE = 0.02
#: Geometry may reach this share of the frame size beyond its edges (lanes run out of view);
#: farther is a unit or typing mistake.
GEOMETRY_MARGIN = 1.0
MIN_SPEED_STRETCH_M = 8.0  # entry and exit lines closer than this cannot time a speed


class Unit(_Strict):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    address: str = ""
    phone: str = ""


class Gps(_Strict):
    lat: float  # bounds checked below, with a hint when lat and lon look swapped
    lon: float

    @model_validator(mode="after")
    def _in_vietnam(self) -> Gps:
        if not (VIETNAM_LAT[0] <= self.lat <= VIETNAM_LAT[1] and VIETNAM_LON[0] <= self.lon <= VIETNAM_LON[1]):
            swapped = VIETNAM_LAT[0] <= self.lon <= VIETNAM_LAT[1] and VIETNAM_LON[0] <= self.lat <= VIETNAM_LON[1]
            raise ValueError(
                f"expected a point in Vietnam (lat {VIETNAM_LAT[0]:g}..{VIETNAM_LAT[1]:g}, "
                f"lon {VIETNAM_LON[0]:g}..{VIETNAM_LON[1]:g}), got lat {self.lat}, lon {self.lon}"
                + (" (lat and lon swapped?)" if swapped else "")
            )
        return self


class CalibrationPoint(_Strict):
    image: Point
    world: Point  # metres on the road plane


class DistanceCheck(_Strict):
    """Two image points a known distance apart on the road: the homography must reproduce it."""

    image_a: Point
    image_b: Point
    distance_m: float = Field(gt=0)
    tolerance: float = Field(default=MAX_CHECK_TOLERANCE, gt=0, le=MAX_CHECK_TOLERANCE)


class Calibration(_Strict):
    points: list[CalibrationPoint] = Field(min_length=4)
    checks: list[DistanceCheck] = []
    # the camera's height above the road, metres (the installation record): a box whose bottom
    # edge sits above the road (a bus's rear underside) projects onto the road too far away, by
    # a factor mount_height_m / (mount_height_m - that height); the speed rule corrects for it
    mount_height_m: float | None = Field(default=None, gt=1.0, le=50.0)


def _polygon_area(polygon: list[Point]) -> float:
    xs = np.array([p[0] for p in polygon])
    ys = np.array([p[1] for p in polygon])
    return float(abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))) / 2)


def _inside(polygon: list[Point], p: Point) -> bool:
    return cv2.pointPolygonTest(np.array(polygon, dtype=np.float32).reshape(-1, 1, 2), p, False) >= 0


def _line_length(line: tuple[Point, Point]) -> float:
    return float(np.hypot(line[1][0] - line[0][0], line[1][1] - line[0][1]))


class Lane(_Strict):
    id: str = Field(min_length=1)
    polygon: list[Point] = Field(min_length=3)
    flow: tuple[Point, Point]  # image points, upstream -> downstream: the legal direction
    allowed: list[VehicleClass] = Field(default=list(VehicleClass), min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> Lane:
        if _polygon_area(self.polygon) < 1:
            raise ValueError(f"lane {self.id}: the polygon has no area (points collinear or repeated)")
        if _line_length(self.flow) < 1:
            raise ValueError(f"lane {self.id}: flow needs two distinct points (upstream -> downstream)")
        mid = ((self.flow[0][0] + self.flow[1][0]) / 2, (self.flow[0][1] + self.flow[1][1]) / 2)
        if not _inside(self.polygon, mid):
            raise ValueError(f"lane {self.id}: the flow arrow {self.flow} does not run inside the lane's polygon")
        return self


class NoStoppingZone(_Strict):
    id: str = Field(min_length=1)
    polygon: list[Point] = Field(min_length=3)
    max_dwell_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _shape(self) -> NoStoppingZone:
        if _polygon_area(self.polygon) < 1:
            raise ValueError(f"no-stopping zone {self.id}: the polygon has no area (points collinear or repeated)")
        return self


class SpeedSegment(_Strict):
    entry: tuple[Point, Point]  # image line where timing starts
    exit: tuple[Point, Point]  # image line where timing stops
    limits_kmh: dict[VehicleClass, float] = Field(min_length=1)
    tolerance_kmh: float = Field(default=0.0, ge=0)

    @field_validator("limits_kmh")
    @classmethod
    def _limits_plausible(cls, value: dict[VehicleClass, float]) -> dict[VehicleClass, float]:
        for vehicle, limit in value.items():
            if not 5 <= limit <= 150:
                raise ValueError(f"expected a speed limit in 5..150 km/h for {vehicle.value}, got {limit}")
        return value


class SignalSource(StrEnum):
    PIXELS = "pixels"  # phase classified from the light's region in the image
    TOPIC = "topic"  # phase from an external signal-controller feed


class Signal(_Strict):
    source: SignalSource = SignalSource.PIXELS
    region: tuple[int, int, int, int] | None = None  # x, y, w, h of the light housing
    topic: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,249}$")  # a Kafka topic name
    red_grace_s: float = Field(default=0.0, ge=0, le=5)  # crossings this soon after red are not violations
    yellow_is_violation: bool = False

    @model_validator(mode="after")
    def _source_has_input(self) -> Signal:
        if self.source == SignalSource.PIXELS and self.region is None:
            raise ValueError("signal.source is 'pixels' but signal.region is missing")
        if self.source == SignalSource.TOPIC and not self.topic:
            raise ValueError("signal.source is 'topic' but signal.topic is missing")
        if self.region is not None and min(self.region[2], self.region[3]) < 3:
            raise ValueError(f"signal.region: expected a width and height of at least 3 px, got {self.region}")
        return self


class CameraConfig(_Strict):
    """Identity, place, calibration and scene geometry of one camera."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
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
        src = np.array([p.image for p in self.calibration.points], dtype=np.float64)
        dst = np.array([p.world for p in self.calibration.points], dtype=np.float64)
        matrix, _ = cv2.findHomography(src, dst)
        if matrix is None or not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
            raise ValueError("calibration: the points are degenerate (collinear or repeated); expected 4+ points "
                             "spread over the road, no three on one line")
        mapped = cv2.perspectiveTransform(src.reshape(-1, 1, 2), matrix).reshape(-1, 2)
        extent = float(np.linalg.norm(dst.max(axis=0) - dst.min(axis=0)))
        for point, got in zip(self.calibration.points, mapped, strict=True):
            off = float(np.linalg.norm(got - np.asarray(point.world)))
            if off > MAX_CHECK_TOLERANCE * extent:
                raise ValueError(
                    f"calibration: point {point.image} -> {point.world} is reproduced at "
                    f"({got[0]:.2f}, {got[1]:.2f}), {off:.2f} m off (more than {MAX_CHECK_TOLERANCE:.0%} of the "
                    f"{extent:.1f} m calibrated area): a point was mis-clicked or mis-measured"
                )
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

    @model_validator(mode="after")
    def _geometry_fits_the_image(self) -> CameraConfig:
        w, h = self.resolution
        mx, my = GEOMETRY_MARGIN * w, GEOMETRY_MARGIN * h

        def check(where: str, points: list[Point] | tuple[Point, ...], *, seen: bool = True) -> None:
            """Every point near the image; with ``seen``, some of the shape inside it."""
            for x, y in points:
                if not (-mx <= x <= w + mx and -my <= y <= h + my):
                    raise ValueError(f"{where}: point ({x:g}, {y:g}) is far outside the {w}x{h} image")
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            if seen and (max(xs) < 0 or min(xs) > w or max(ys) < 0 or min(ys) > h):
                raise ValueError(f"{where}: lies entirely outside the {w}x{h} image")

        if self.stop_line is not None:
            check("stop_line", self.stop_line)
            if _line_length(self.stop_line) < 10:
                raise ValueError(f"stop_line: expected two points at least 10 px apart, got {self.stop_line}")
        for kind, items in (("lanes", self.lanes), ("no_stopping", self.no_stopping)):
            ids = [item.id for item in items]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"{kind}: duplicate ids {duplicates}")
            for item in items:
                check(f"{kind}[{item.id}].polygon", item.polygon, seen=kind == "no_stopping")
        for lane in self.lanes:
            check(f"lanes[{lane.id}].flow", lane.flow, seen=False)
        if self.speed is not None:
            for name in ("entry", "exit"):
                line = getattr(self.speed, name)
                check(f"speed.{name}", line, seen=False)  # timing may start out of view
                if _line_length(line) < 10:
                    raise ValueError(f"speed.{name}: expected two points at least 10 px apart, got {line}")
            mid = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in (self.speed.entry, self.speed.exit)]
            stretch = self.distance_m(mid[0], mid[1])
            if stretch < MIN_SPEED_STRETCH_M:
                raise ValueError(
                    f"speed: entry and exit lines are {stretch:.1f} m apart on the road, expected at least "
                    f"{MIN_SPEED_STRETCH_M:g} m to time a speed"
                )
        if self.signal is not None and self.signal.region is not None:
            x, y, rw, rh = self.signal.region
            if x < 0 or y < 0 or x + rw > w or y + rh > h:
                raise ValueError(f"signal.region {self.signal.region} is not inside the {w}x{h} image")
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


def _describe(exc: ValidationError) -> str:
    """One line per problem: ``section.field: message``."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


def load_camera(path: str | Path, *, require_checks: bool = True) -> CameraConfig:
    """Read and validate one camera YAML file.

    A file must carry at least one known-distance check (``calibration.checks``): a real camera's
    calibration is only trusted once it reproduces a measured distance within 2 %."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CameraConfigError(f"{path}: cannot read camera file: {exc}") from exc
    if not isinstance(raw, dict):
        raise CameraConfigError(f"{path}: expected a mapping, got {type(raw).__name__}")
    try:
        camera = CameraConfig.model_validate(raw)
    except ValidationError as exc:
        raise CameraConfigError(f"{path}: invalid camera configuration:\n{_describe(exc)}") from exc
    if require_checks and not camera.calibration.checks:
        raise CameraConfigError(
            f"{path}: invalid camera configuration:\n  calibration.checks: expected at least one known distance "
            "(two image points and the metres between them) to verify the calibration"
        )
    return camera


def load_cameras(directory: str | Path) -> dict[str, CameraConfig]:
    """Every ``*.yaml`` camera in a directory, keyed by id; duplicate ids are an error."""
    cameras: dict[str, CameraConfig] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        camera = load_camera(path)
        if camera.id in cameras:
            raise CameraConfigError(f"{path}: duplicate camera id {camera.id!r}")
        cameras[camera.id] = camera
    return cameras
