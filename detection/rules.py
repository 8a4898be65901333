"""Violation rules: small pure functions of one vehicle track and the scene state.

Each rule takes a ``Track`` (timestamped ground points: the box's bottom centre in image pixels
and on the road plane in metres) and a ``Scene`` (camera geometry, signal timeline, thresholds)
and returns a ``Decision`` or None. A rule never looks at pixels and keeps no state: the
pipeline calls it on every update of a track and fires each (track, rule) at most once.

Each rule has an id and a version (``RULE_VERSIONS``); change the version whenever a change can
alter a decision, so every violation says which logic produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from detection.signal import SignalTimeline
from detection.types import Box, Measurement, Rule, SignalPhase
from ingest.camera import CameraConfig, Lane, VehicleClass

Point = tuple[float, float]

RULE_VERSIONS: dict[Rule, str] = {
    Rule.RED_LIGHT: "red_light@1",
    Rule.WRONG_WAY: "wrong_way@1",
    Rule.WRONG_LANE: "wrong_lane@1",
    Rule.NO_STOPPING: "no_stopping@1",
    Rule.SPEEDING: "speeding@1",
}


@dataclass(frozen=True)
class TrackPoint:
    """Where a vehicle touched the road on one frame."""

    sequence: int
    t_ns: int
    image: Point  # bottom centre of the box, pixels
    world: Point  # the same point on the road plane, metres
    box: Box


@dataclass(frozen=True)
class Track:
    track_id: int
    key: str  # stable under replay: "<first sequence>:<tracker id>"
    vehicle_class: VehicleClass
    points: tuple[TrackPoint, ...]


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds that are not in the camera file (the camera file holds the per-site ones)."""

    stop_line_margin: float = 0.05  # crossing may fall this share of the line's length beyond its ends
    red_light_min_beyond_m: float = 1.0  # the track must reach this far past the line (not jitter)
    red_light_min_approach_points: int = 2  # points seen on the approach side before the crossing
    max_plausible_speed_mps: float = 40.0  # a faster step is a tracker id switch, not a vehicle
    wrong_way_min_m: float = 4.0  # displacement against the flow before wrong-way fires
    wrong_lane_min_s: float = 1.0  # time continuously inside a lane that disallows the class
    stationary_radius_m: float = 1.5  # a vehicle that stays within this circle is stopped
    speed_position_sigma_m: float = 0.5  # ground-point noise at each end of the timed stretch
    speed_time_sigma_s: float = 0.01  # timestamp jitter at each end (crossings are interpolated)
    speed_min_distance_m: float = 8.0  # timed stretch needed for a speed
    speed_z: float = 1.645  # one-sided 95% lower bound


@dataclass(frozen=True)
class Scene:
    camera: CameraConfig
    signal: SignalTimeline = field(default_factory=SignalTimeline)
    settings: RuleSettings = field(default_factory=RuleSettings)


@dataclass(frozen=True)
class Decision:
    """A rule's verdict: the instant of the violation and what was measured."""

    rule: Rule
    rule_version: str
    occurred_at_ns: int
    sequence: int  # the first frame at or after the violation instant
    measurement: Measurement
    thresholds: dict[str, float]
    detail: str


# --- geometry -----------------------------------------------------------------------------------


def side(line: tuple[Point, Point], p: Point) -> float:
    """Signed area: > 0 on the left of a -> b, < 0 on the right (image coordinates)."""
    (ax, ay), (bx, by) = line
    return (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)


def point_in_polygon(polygon: Sequence[Point], p: Point) -> bool:
    inside = False
    x, y = p
    n = len(polygon)
    for i in range(n):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _crossing(line: tuple[Point, Point], a: TrackPoint, b: TrackPoint, margin: float) -> float | None:
    """Fraction along a->b where the segment crosses ``line`` (within its extent), or None."""
    sa, sb = side(line, a.image), side(line, b.image)
    if sa == sb or (sa > 0) == (sb > 0) and sa != 0 and sb != 0:
        return None
    f = sa / (sa - sb)
    px = a.image[0] + f * (b.image[0] - a.image[0])
    py = a.image[1] + f * (b.image[1] - a.image[1])
    (lx1, ly1), (lx2, ly2) = line
    d2 = (lx2 - lx1) ** 2 + (ly2 - ly1) ** 2
    u = ((px - lx1) * (lx2 - lx1) + (py - ly1) * (ly2 - ly1)) / d2 if d2 else 0.0
    return f if -margin <= u <= 1 + margin else None


def _lerp_ns(a: TrackPoint, b: TrackPoint, f: float) -> int:
    return int(a.t_ns + f * (b.t_ns - a.t_ns))


def lane_of(camera: CameraConfig, p: Point) -> Lane | None:
    return next((lane for lane in camera.lanes if point_in_polygon(lane.polygon, p)), None)


def approach_sign(camera: CameraConfig) -> float:
    """Sign of ``side(stop_line, p)`` for points on the approach side.

    From the lanes' flow (its upstream end); with no lanes, the side holding the bottom centre
    of the image (traffic moving away from the camera)."""
    assert camera.stop_line is not None
    for lane in camera.lanes:
        s = side(camera.stop_line, lane.flow[0])
        if s:
            return float(np.sign(s))
    w, h = camera.resolution
    return float(np.sign(side(camera.stop_line, (w / 2, h)))) or 1.0


def _world_flow(camera: CameraConfig, lane: Lane) -> np.ndarray:
    a, b = camera.to_world(list(lane.flow))
    v = b - a
    return v / (np.linalg.norm(v) or 1.0)


def _went_beyond(
    camera: CameraConfig, line: tuple[Point, Point], sign: float, pts: Sequence[TrackPoint], metres: float
) -> bool:
    """True when some point lies on the far side at least ``metres`` from the line (road plane)."""
    a, b = camera.to_world(list(line))
    d = b - a
    norm = float(np.linalg.norm(d)) or 1.0
    for p in pts:
        if np.sign(side(line, p.image)) == -sign:
            w = np.asarray(p.world) - a
            if abs(float(d[0] * w[1] - d[1] * w[0])) / norm >= metres:
                return True
    return False


# --- rules --------------------------------------------------------------------------------------


def red_light(track: Track, scene: Scene) -> Decision | None:
    """The ground point crosses the stop line from the approach side while the light is red,
    more than ``signal.red_grace_s`` after red began (on yellow only if ``yellow_is_violation``).

    When the stream began during the red phase, the time since red is a lower bound; a
    violation is still called only if that lower bound exceeds the grace.
    """
    camera = scene.camera
    if camera.stop_line is None or camera.signal is None or len(track.points) < 2:
        return None
    sign = approach_sign(camera)
    line = camera.stop_line
    pts = track.points
    settings = scene.settings
    for i, (a, b) in enumerate(zip(pts, pts[1:], strict=False)):
        if np.sign(side(line, a.image)) != sign:
            continue
        f = _crossing(line, a, b, settings.stop_line_margin)
        if f is None:
            continue
        approach = sum(1 for p in pts[: i + 1] if np.sign(side(line, p.image)) == sign)
        step_s = max((b.t_ns - a.t_ns) / 1e9, 1e-3)
        step_m = float(np.hypot(*np.subtract(b.world, a.world)))
        if (
            approach < settings.red_light_min_approach_points
            or step_m / step_s > settings.max_plausible_speed_mps
        ):
            return None  # not seen approaching, or a jump between two vehicles: no evidence of a crossing
        if not _went_beyond(camera, line, sign, pts, settings.red_light_min_beyond_m):
            return None  # not yet: decide once the vehicle has clearly passed the line
        t = _lerp_ns(a, b, f)
        phase = scene.signal.phase_at(t)
        grace = camera.signal.red_grace_s
        thresholds = {
            "red_grace_s": grace,
            "red_light_min_beyond_m": settings.red_light_min_beyond_m,
            "red_light_min_approach_points": float(settings.red_light_min_approach_points),
            "max_plausible_speed_mps": settings.max_plausible_speed_mps,
            "yellow_is_violation": float(camera.signal.yellow_is_violation),
        }
        if phase == SignalPhase.RED:
            since = scene.signal.seconds_since_red(t)
            assert since is not None
            seconds, known = since
            if seconds <= grace:
                return None
            detail = f"crossed the stop line {seconds:.2f} s after red" + ("" if known else " (at least)")
            measurement = Measurement(signal_phase=phase, seconds_since_red=round(seconds, 3))
        elif phase == SignalPhase.YELLOW and camera.signal.yellow_is_violation:
            detail = "crossed the stop line on yellow"
            measurement = Measurement(signal_phase=phase)
        else:
            return None  # the first crossing from the approach side decides
        return Decision(
            Rule.RED_LIGHT, RULE_VERSIONS[Rule.RED_LIGHT], t, b.sequence, measurement, thresholds, detail
        )
    return None


def wrong_way(track: Track, scene: Scene) -> Decision | None:
    """Displacement against the lane's ``flow`` (in metres, measured along the flow) of at least
    ``wrong_way_min_m`` while inside that lane."""
    camera = scene.camera
    minimum = scene.settings.wrong_way_min_m
    start: dict[str, TrackPoint] = {}
    flows = {lane.id: _world_flow(camera, lane) for lane in camera.lanes}
    for p in track.points:
        lane = lane_of(camera, p.image)
        if lane is None:
            continue
        first = start.setdefault(lane.id, p)
        along = float(np.dot(np.subtract(p.world, first.world), flows[lane.id]))
        if along <= -minimum:
            return Decision(
                Rule.WRONG_WAY,
                RULE_VERSIONS[Rule.WRONG_WAY],
                p.t_ns,
                p.sequence,
                Measurement(),
                {"wrong_way_min_m": minimum},
                f"moved {-along:.1f} m against the flow of lane {lane.id}",
            )
    return None


def wrong_lane(track: Track, scene: Scene) -> Decision | None:
    """The vehicle stays at least ``wrong_lane_min_s`` (on consecutive track points) in a lane
    whose ``allowed`` classes exclude it."""
    need = scene.settings.wrong_lane_min_s
    run_lane: str | None = None
    run_start = 0
    for p in track.points:
        lane = lane_of(scene.camera, p.image)
        if lane is not None and track.vehicle_class not in lane.allowed:
            if run_lane != lane.id:
                run_lane, run_start = lane.id, p.t_ns
            if (p.t_ns - run_start) / 1e9 >= need:
                return Decision(
                    Rule.WRONG_LANE,
                    RULE_VERSIONS[Rule.WRONG_LANE],
                    p.t_ns,
                    p.sequence,
                    Measurement(),
                    {"wrong_lane_min_s": need},
                    f"{track.vehicle_class} in lane {lane.id} (allowed: "
                    f"{', '.join(c.value for c in lane.allowed)})",
                )
        else:
            run_lane = None
    return None


def no_stopping(track: Track, scene: Scene) -> Decision | None:
    """The vehicle stays inside a no-stopping zone, within ``stationary_radius_m`` of where it
    stopped, for longer than the zone's ``max_dwell_s``."""
    radius = scene.settings.stationary_radius_m
    for zone in scene.camera.no_stopping:
        anchor: TrackPoint | None = None
        for p in track.points:
            if not point_in_polygon(zone.polygon, p.image):
                anchor = None
                continue
            if anchor is None or np.hypot(*np.subtract(p.world, anchor.world)) > radius:
                anchor = p
                continue
            dwell = (p.t_ns - anchor.t_ns) / 1e9
            if dwell > zone.max_dwell_s:
                return Decision(
                    Rule.NO_STOPPING,
                    RULE_VERSIONS[Rule.NO_STOPPING],
                    p.t_ns,
                    p.sequence,
                    Measurement(dwell_s=round(dwell, 3)),
                    {"max_dwell_s": zone.max_dwell_s, "stationary_radius_m": radius},
                    f"stopped {dwell:.1f} s in zone {zone.id} (allowed {zone.max_dwell_s:g} s)",
                )
    return None


def _line_crossing(track: Track, line: tuple[Point, Point]) -> tuple[int, Point, int] | None:
    """(t_ns, world point, sequence) of the first crossing of ``line`` (either direction)."""
    for a, b in zip(track.points, track.points[1:], strict=False):
        f = _crossing(line, a, b, 0.05)
        if f is not None:
            world = tuple(np.add(a.world, f * np.subtract(b.world, a.world)))
            return _lerp_ns(a, b, f), world, b.sequence  # type: ignore[return-value]
    return None


def speeding(track: Track, scene: Scene) -> Decision | None:
    """Mean speed between the segment's entry and exit lines, over at least
    ``speed_min_distance_m``. When the vehicle came into view already past the entry line, the
    timing starts at its first point inside the segment. The uncertainty combines the
    ground-point noise and the timestamp jitter at both ends; a violation only when
    the one-sided lower bound exceeds limit + tolerance."""
    seg = scene.camera.speed
    if seg is None or track.vehicle_class not in seg.limits_kmh:
        return None
    exit_ = _line_crossing(track, seg.exit)
    if exit_ is None:
        return None
    entry = _line_crossing(track, seg.entry)
    if entry is None or entry[0] >= exit_[0]:
        (ex1, ey1), (ex2, ey2) = seg.exit
        inside = np.sign(side(seg.entry, ((ex1 + ex2) / 2, (ey1 + ey2) / 2)))
        first = next(
            (p for p in track.points if p.t_ns < exit_[0] and np.sign(side(seg.entry, p.image)) == inside),
            None,
        )
        if first is None:
            return None
        entry = (first.t_ns, first.world, first.sequence)
    dt = (exit_[0] - entry[0]) / 1e9
    dist = float(np.hypot(*np.subtract(exit_[1], entry[1])))
    if dt <= 0 or dist < scene.settings.speed_min_distance_m:
        return None
    speed = dist / dt * 3.6
    sigma_d = scene.settings.speed_position_sigma_m * np.sqrt(2)
    sigma_t = scene.settings.speed_time_sigma_s * np.sqrt(2)
    sigma = speed * float(np.hypot(sigma_d / dist, sigma_t / dt))
    limit = seg.limits_kmh[track.vehicle_class]
    lower = speed - scene.settings.speed_z * sigma
    if lower <= limit + seg.tolerance_kmh:
        return None
    return Decision(
        Rule.SPEEDING,
        RULE_VERSIONS[Rule.SPEEDING],
        exit_[0],
        exit_[2],
        Measurement(speed_kmh=round(speed, 2), speed_uncertainty_kmh=round(sigma, 2), speed_limit_kmh=limit),
        {
            "speed_limit_kmh": limit,
            "tolerance_kmh": seg.tolerance_kmh,
            "z": scene.settings.speed_z,
            "speed_min_distance_m": scene.settings.speed_min_distance_m,
        },
        f"{speed:.1f} ± {sigma:.1f} km/h over {dist:.1f} m (limit {limit:g})",
    )


RuleFn = Callable[[Track, Scene], Decision | None]

RULES: dict[Rule, RuleFn] = {
    Rule.RED_LIGHT: red_light,
    Rule.WRONG_WAY: wrong_way,
    Rule.WRONG_LANE: wrong_lane,
    Rule.NO_STOPPING: no_stopping,
    Rule.SPEEDING: speeding,
}


def select_rules(names: Sequence[str | Rule] | None = None) -> dict[Rule, RuleFn]:
    """The rules named (all when None); an unknown name is a ValueError listing the known ones."""
    if names is None:
        return dict(RULES)
    chosen = {}
    for name in names:
        try:
            rule = Rule(name)
        except ValueError:
            raise ValueError(
                f"unknown rule {name!r}; known rules: {', '.join(r.value for r in RULES)}"
            ) from None
        chosen[rule] = RULES[rule]
    return chosen
