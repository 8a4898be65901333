"""Violation rules: small pure functions of one vehicle track and the scene state.

Each rule takes a ``Track`` (timestamped ground points: the box's bottom centre in image pixels
and on the road plane in metres) and a ``Scene`` (camera geometry, signal timeline, thresholds)
and returns a ``Decision`` or None. A rule never looks at pixels and keeps no state: the
pipeline calls it on every update of a track and fires each (track, rule) at most once.

Each rule has an id and a version (``RULE_VERSIONS``); change the version whenever a change can
alter a decision, so every violation says which logic produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from detection.signal import SignalTimeline
from detection.types import Box, Measurement, Rule, SignalPhase
from ingest.camera import CameraConfig, Lane, VehicleClass
from ingest.camera import SignalSource as SignalSourceKind

Point = tuple[float, float]

RULE_VERSIONS: dict[Rule, str] = {
    Rule.RED_LIGHT: "red_light@2",
    Rule.WRONG_WAY: "wrong_way@3",
    Rule.WRONG_LANE: "wrong_lane@2",
    Rule.NO_STOPPING: "no_stopping@1",
    Rule.SPEEDING: "speeding@5",
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
    # ... held on this many consecutive points: far from the camera one pixel is metres on the
    # road, and one jittery box (or a box that swallowed a neighbour) moved a track 4 m "back"
    wrong_way_min_points: int = 3
    # ... measured afresh after a longer gap between two points: across a gap the tracker may
    # hand a lost track's id to another vehicle, whose position then reads as a move "back"
    wrong_way_max_gap_s: float = 0.5
    wrong_lane_min_s: float = 1.0  # time continuously inside a lane that disallows the class
    # a longer gap between two track points (frames where the vehicle was cut by the frame edge or
    # not detected) breaks the run: the time in between was not seen, so it is not counted
    wrong_lane_max_gap_s: float = 0.25
    stationary_radius_m: float = 1.5  # a vehicle that stays within this circle is stopped
    speed_position_sigma_m: float = 0.5  # ground-point noise at each end of the timed stretch
    speed_time_sigma_s: float = 0.01  # timestamp jitter at each end (crossings are interpolated)
    speed_min_distance_m: float = 8.0  # timed stretch needed for a speed
    speed_z: float = 1.645  # one-sided 95% lower bound
    speed_calibration_floor: float = 0.005  # relative scale error assumed even when the checks agree better
    # floors the trajectory's own uncertainty with the detector's box-bottom error (px, one standard
    # deviation at each end of the stretch). Calibrated with `phatnguoi eval speed` on seeds
    # 9500001-9500003 (215 vehicles timed, docs/rules.md): the smallest floor whose lower bound
    # holds the true speed at least 95 % of the time even at the bottom of its 95 % interval.
    # (speeding@3 used 6 px, YOLO's per-box sd, which overstated sigma about 2.7-fold.)
    speed_box_jitter_px: float = 3.0
    # ... and per class where eval speed showed less is honest: a motorbike's box ends at its tyre
    # on the road (2 px: lower bound held for 135 of 135 motorbikes on the calibration seeds,
    # 168 of 169 on the fresh seeds 9500004-9500006); with 2 px trucks, whose box bottom passes
    # from the bumper to the wheels along the stretch, held 28 of 31 (both seed sets), cars 52 of
    # 53 on the calibration seeds: they keep 3 px
    speed_box_jitter_px_by_class: Mapping[VehicleClass, float] = field(
        default_factory=lambda: MappingProxyType({VehicleClass.MOTORBIKE: 2.0})
    )
    # where a class's box bottom sits above the road, metres: a bus seen from behind ends at its
    # rear underside (about 0.35-0.45 m up, the wheels are 1.5-3 m further on), which projects onto
    # the road too far from the camera, by mount height / (mount height - this), so the speed reads
    # that much fast (eval speed, seeds 9500001-9500003: buses +2.5 km/h, 9 of 11 lower bounds
    # above the true speed). The speed is scaled back and the height's own spread
    # (``speed_bottom_height_sigma_m``) joins the uncertainty. Classes absent: the box bottom is
    # where the wheels touch the road.
    speed_bottom_height_m: Mapping[VehicleClass, float] = field(
        default_factory=lambda: MappingProxyType({VehicleClass.BUS: 0.4})
    )
    speed_bottom_height_sigma_m: float = 0.05
    # the camera height assumed when the camera file does not state ``calibration.mount_height_m``:
    # low for a pole or gantry, so the correction errs toward the slower speed (the driver's side)
    speed_assumed_mount_height_m: float = 5.0

    def box_jitter_px(self, vehicle_class: VehicleClass) -> float:
        """The box-bottom floor for ``vehicle_class``, px."""
        return self.speed_box_jitter_px_by_class.get(vehicle_class, self.speed_box_jitter_px)


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


def _implausible_step(a: TrackPoint, b: TrackPoint, settings: RuleSettings) -> bool:
    """True when going from ``a`` to ``b`` on the road would need more than
    ``max_plausible_speed_mps``: a jump between two vehicles, not a vehicle's motion."""
    step_s = max((b.t_ns - a.t_ns) / 1e9, 1e-3)
    return float(np.hypot(*np.subtract(b.world, a.world))) / step_s > settings.max_plausible_speed_mps


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


def signal_source(camera: CameraConfig) -> str | None:
    """Where the phase came from, as recorded with a red-light violation: ``pixels`` (the lamp
    region in the image) or ``topic:<name>`` (a signal-controller feed)."""
    if camera.signal is None:
        return None
    if camera.signal.source == SignalSourceKind.TOPIC:
        return f"topic:{camera.signal.topic}"
    return f"pixels:{','.join(str(v) for v in camera.signal.region or ())}"


# --- rules --------------------------------------------------------------------------------------


def red_light(track: Track, scene: Scene) -> Decision | None:
    """The ground point crosses the stop line from the approach side while the light is red,
    more than ``signal.red_grace_s`` after red began (on yellow only if ``yellow_is_violation``).

    The crossing lies between the last point before the line and the first past it; the driver
    gets the benefit of the doubt: the light must already have been red for more than the grace
    at that last point before the line (``seconds_since_red_min``), not only at the interpolated
    crossing (``seconds_since_red``). On yellow likewise: yellow (or red) already at that point.
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
        if approach < settings.red_light_min_approach_points or _implausible_step(a, b, settings):
            return None  # not seen approaching, or a jump between two vehicles: no evidence of a crossing
        if not _went_beyond(camera, line, sign, pts, settings.red_light_min_beyond_m):
            return None  # not yet: decide once the vehicle has clearly passed the line
        t = _lerp_ns(a, b, f)
        phase = scene.signal.phase_at(t)
        # the crossing happened between a (still before the line) and b: the driver gets the
        # benefit of the doubt, so the phase must already hold at a, the earliest possible instant
        earliest = scene.signal.phase_at(a.t_ns)
        grace = camera.signal.red_grace_s
        thresholds = {
            "red_grace_s": grace,
            "red_light_min_beyond_m": settings.red_light_min_beyond_m,
            "red_light_min_approach_points": float(settings.red_light_min_approach_points),
            "max_plausible_speed_mps": settings.max_plausible_speed_mps,
            "yellow_is_violation": float(camera.signal.yellow_is_violation),
        }
        yellow_counts = camera.signal.yellow_is_violation
        if phase == SignalPhase.RED:
            since = scene.signal.seconds_since_red(t)
            assert since is not None
            seconds, known = since
            if seconds <= grace:
                return None
            if earliest == SignalPhase.RED:
                first = scene.signal.seconds_since_red(a.t_ns)
                assert first is not None
                proven: float | None = first[0]
                if first[0] <= grace:
                    return None  # it may have crossed within the grace
            elif earliest == SignalPhase.YELLOW and yellow_counts:
                proven = None  # on yellow or on red: a violation either way
            else:
                return None  # it may have crossed before red began
            detail = f"crossed the stop line {seconds:.2f} s after red" + ("" if known else " (at least)")
            measurement = Measurement(
                signal_phase=phase,
                seconds_since_red=round(seconds, 3),
                seconds_since_red_min=None if proven is None else round(proven, 3),
                signal_source=signal_source(camera),
            )
        elif phase == SignalPhase.YELLOW and yellow_counts and earliest == SignalPhase.YELLOW:
            detail = "crossed the stop line on yellow"
            measurement = Measurement(signal_phase=phase, signal_source=signal_source(camera))
        else:
            return None  # the first crossing from the approach side decides
        return Decision(
            Rule.RED_LIGHT, RULE_VERSIONS[Rule.RED_LIGHT], t, b.sequence, measurement, thresholds, detail
        )
    return None


def wrong_way(track: Track, scene: Scene) -> Decision | None:
    """Displacement against the lane's ``flow`` (in metres, measured along the flow) of at least
    ``wrong_way_min_m`` while inside that lane, held on ``wrong_way_min_points`` consecutive
    points (a single jittery far-away box is not a vehicle driving the wrong way).

    A step between two points faster than ``max_plausible_speed_mps``, or after a gap of more
    than ``wrong_way_max_gap_s``, restarts the measurement: no vehicle moves like that, a box
    does when YOLO merges it with the vehicle behind (far away, where a pixel is metres) or the
    tracker hands a lost track's id to another vehicle."""
    camera = scene.camera
    minimum = scene.settings.wrong_way_min_m
    need = max(1, scene.settings.wrong_way_min_points)
    max_gap_ns = int(scene.settings.wrong_way_max_gap_s * 1e9)
    start: dict[str, TrackPoint] = {}
    held = 0
    flows = {lane.id: _world_flow(camera, lane) for lane in camera.lanes}
    previous: TrackPoint | None = None
    for p in track.points:
        jumped = previous is not None and (
            _implausible_step(previous, p, scene.settings) or p.t_ns - previous.t_ns > max_gap_ns
        )
        previous = p
        if jumped:
            start.clear()  # the box jumped to another vehicle (or merged with one): measure afresh
            held = 0
        lane = lane_of(camera, p.image)
        if lane is None:
            held = 0
            continue
        first = start.setdefault(lane.id, p)
        along = float(np.dot(np.subtract(p.world, first.world), flows[lane.id]))
        held = held + 1 if along <= -minimum else 0
        if held >= need:
            return Decision(
                Rule.WRONG_WAY,
                RULE_VERSIONS[Rule.WRONG_WAY],
                p.t_ns,
                p.sequence,
                Measurement(),
                {
                    "wrong_way_min_m": minimum,
                    "wrong_way_min_points": float(need),
                    "max_plausible_speed_mps": scene.settings.max_plausible_speed_mps,
                    "wrong_way_max_gap_s": scene.settings.wrong_way_max_gap_s,
                },
                f"moved {-along:.1f} m against the flow of lane {lane.id}",
            )
    return None


def wrong_lane(track: Track, scene: Scene) -> Decision | None:
    """The vehicle stays at least ``wrong_lane_min_s`` (on consecutive track points) in a lane
    whose ``allowed`` classes exclude it.

    A gap of more than ``wrong_lane_max_gap_s`` between two points restarts the count: frames
    without a ground point (the box cut by the frame edge, a missed detection) are time nobody
    saw, and bridging them made a vehicle that drove 0.5 s in the lane look like 1 s of it."""
    need = scene.settings.wrong_lane_min_s
    max_gap_ns = int(scene.settings.wrong_lane_max_gap_s * 1e9)
    run_lane: str | None = None
    run_start = 0
    previous_t: int | None = None
    for p in track.points:
        lane = lane_of(scene.camera, p.image)
        gap = previous_t is not None and p.t_ns - previous_t > max_gap_ns
        previous_t = p.t_ns
        if lane is not None and track.vehicle_class not in lane.allowed:
            if run_lane != lane.id or gap:
                run_lane, run_start = lane.id, p.t_ns
            if (p.t_ns - run_start) / 1e9 >= need:
                return Decision(
                    Rule.WRONG_LANE,
                    RULE_VERSIONS[Rule.WRONG_LANE],
                    p.t_ns,
                    p.sequence,
                    Measurement(),
                    {"wrong_lane_min_s": need, "wrong_lane_max_gap_s": scene.settings.wrong_lane_max_gap_s},
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


def _midpoint(line: tuple[Point, Point]) -> Point:
    (x1, y1), (x2, y2) = line
    return ((x1 + x2) / 2, (y1 + y2) / 2)


def _line_crossing(
    track: Track, line: tuple[Point, Point], from_side: float | None = None
) -> tuple[int, Point, int] | None:
    """(t_ns, world point, sequence) of the first crossing of ``line``: in either direction, or
    only from the side whose ``side()`` sign is ``from_side``."""
    for a, b in zip(track.points, track.points[1:], strict=False):
        if from_side is not None and np.sign(side(line, a.image)) != from_side:
            continue
        f = _crossing(line, a, b, 0.05)
        if f is not None:
            world = tuple(np.add(a.world, f * np.subtract(b.world, a.world)))
            return _lerp_ns(a, b, f), world, b.sequence  # type: ignore[return-value]
    return None


@dataclass(frozen=True)
class SpeedBracket:
    """One row of the fine table for speeding: excess over the limit in (``low``, ``high``] or
    [``low``, ``high``) as the decree words it, and the article that fines it."""

    label: str
    low_kmh: float
    high_kmh: float | None  # None: no upper edge
    low_inclusive: bool
    high_inclusive: bool
    reference: str

    def holds(self, over_kmh: float) -> bool:
        above = over_kmh >= self.low_kmh if self.low_inclusive else over_kmh > self.low_kmh
        if self.high_kmh is None:
            return above
        below = over_kmh <= self.high_kmh if self.high_inclusive else over_kmh < self.high_kmh
        return above and below


#: Decree 168/2024/NĐ-CP (in force 2025-01-01), Art. 6 (cars and similar: buses, trucks) and
#: Art. 7 (motorbikes). Data, not logic: a new decree is a new table and a new rule version.
SPEED_BRACKETS_SOURCE = "Decree 168/2024/NĐ-CP, in force 2025-01-01"
_CAR_BRACKETS = (
    SpeedBracket("5-<10", 5, 10, True, False, "168/2024 Art 6.3.a"),
    SpeedBracket("10-20", 10, 20, True, True, "168/2024 Art 6.5.đ"),
    SpeedBracket(">20-35", 20, 35, False, True, "168/2024 Art 6.6.a"),
    SpeedBracket(">35", 35, None, False, False, "168/2024 Art 6.7.a"),
)
SPEED_BRACKETS: dict[VehicleClass, tuple[SpeedBracket, ...]] = {
    VehicleClass.CAR: _CAR_BRACKETS,
    VehicleClass.BUS: _CAR_BRACKETS,
    VehicleClass.TRUCK: _CAR_BRACKETS,
    VehicleClass.MOTORBIKE: (
        SpeedBracket("5-<10", 5, 10, True, False, "168/2024 Art 7.2.b"),
        SpeedBracket("10-20", 10, 20, True, True, "168/2024 Art 7.4.a"),
        SpeedBracket(">20", 20, None, False, False, "168/2024 Art 7.8.a"),
    ),
}
#: The fine table starts at 5 km/h over: a smaller excess is not a fineable violation.
SPEED_FINE_MIN_OVER_KMH = min(b.low_kmh for rows in SPEED_BRACKETS.values() for b in rows)


def speed_is_fined(speed_kmh: float, limit_kmh: float, tolerance_kmh: float) -> bool:
    """Whether ``speed_kmh`` is a fineable speed: over limit + tolerance, and at least the fine
    table's lowest excess over the limit. The rule asks it of its proven lower bound, the
    simulator's judge of the true speed."""
    return speed_kmh > limit_kmh + tolerance_kmh and speed_kmh - limit_kmh >= SPEED_FINE_MIN_OVER_KMH


def fine_threshold_kmh(limit_kmh: float, tolerance_kmh: float) -> float:
    """The speed from which ``speed_is_fined`` holds (up to its edge)."""
    return limit_kmh + max(tolerance_kmh, SPEED_FINE_MIN_OVER_KMH)


def speed_bracket(vehicle_class: VehicleClass, over_kmh: float) -> SpeedBracket | None:
    """The fine-table row for ``over_kmh`` above the limit; None below the table."""
    return next((b for b in SPEED_BRACKETS[vehicle_class] if b.holds(over_kmh)), None)


@dataclass(frozen=True)
class SpeedEstimate:
    """Mean speed over the timed stretch and its standard uncertainty (km/h), with what it is
    made of: the trajectory fit, the end points, and the calibration's scale error."""

    speed_kmh: float
    sigma_kmh: float
    distance_m: float
    duration_s: float
    points: int
    exit_t_ns: int
    exit_sequence: int
    sigma_fit_kmh: float
    sigma_ends_kmh: float
    sigma_calibration_kmh: float
    # the factor the box bottom's height above the road scaled the speed by (1.0: on the road)
    height_factor: float = 1.0
    sigma_height_kmh: float = 0.0


def _calibration_error(camera: CameraConfig) -> float:
    """The worst relative error of the camera's known distances (0 without checks)."""
    errors = [
        abs(camera.distance_m(c.image_a, c.image_b) - c.distance_m) / c.distance_m for c in camera.calibration.checks
    ]
    return max(errors, default=0.0)


def _jitter_floor_mps(scene: Scene, vehicle_class: VehicleClass, entry: Point, exit_: Point, dt: float) -> float:
    """The least speed uncertainty (m/s) the detector's box jitter allows: ``box_jitter_px`` of the
    class, of the box's bottom edge, turned into metres on the road at each end of the timed stretch
    (the homography's scale there), independent at both ends, over the stretch's duration.

    The trajectory fit alone was overconfident with YOLO boxes (the true speed inside the 95 %
    interval 5 of 8 times): the detector's error is a slowly varying bias along the vehicle's
    path, which the residuals of a straight-line fit cannot show."""
    jitter = scene.settings.box_jitter_px(vehicle_class)
    if jitter <= 0 or dt <= 0:
        return 0.0
    camera = scene.camera
    metres = []
    for world in (entry, exit_):
        (u, v), = camera.to_image([world])
        a, b = camera.to_world([(u, v - jitter / 2), (u, v + jitter / 2)])
        metres.append(float(np.linalg.norm(np.subtract(b, a))))
    return float(np.hypot(metres[0], metres[1])) / dt


def measure_speed(track: Track, scene: Scene) -> SpeedEstimate | None:
    """Speed between the segment's entry and exit lines, from the calibrated trajectory.

    The timed stretch runs from the entry crossing (or, for a vehicle that came into view past
    the entry line, its first point inside the segment) to the exit crossing, and must be at
    least ``speed_min_distance_m`` long. The speed is the slope of a least-squares line through
    the distance travelled (road plane, along the stretch) against time, over every point of the
    stretch and the interpolated crossings: all the trajectory speaks, not two noisy ends.

    Its uncertainty comes from the same trajectory: the standard error of the fitted slope,
    widened for the correlation of neighbouring residuals (box jitter is not independent from
    frame to frame: with lag-1 autocorrelation r the error grows by sqrt((1 + r) / (1 - r))),
    combined with the calibration's scale error (the worst known-distance check of the camera,
    at least ``speed_calibration_floor``). With fewer than five points there is no fit: the
    end-point model (``speed_position_sigma_m`` and ``speed_time_sigma_s`` at both ends) stands
    in for it."""
    seg = scene.camera.speed
    if seg is None:
        return None
    # the segment runs from the entry line to the exit line: a vehicle is timed only when it
    # leaves through the exit line from the entry side (one driving the other way, e.g. against
    # the flow, crosses it from beyond and is not timed), and only inside the segment
    beyond_entry = np.sign(side(seg.entry, _midpoint(seg.exit)))
    before_exit = np.sign(side(seg.exit, _midpoint(seg.entry)))
    exit_ = _line_crossing(track, seg.exit, from_side=before_exit)
    if exit_ is None:
        return None
    entry = _line_crossing(track, seg.entry)
    if entry is None or entry[0] >= exit_[0]:
        first = next(
            (p for p in track.points if p.t_ns < exit_[0] and np.sign(side(seg.entry, p.image)) == beyond_entry
             and np.sign(side(seg.exit, p.image)) == before_exit),
            None,
        )
        if first is None:
            return None
        entry = (first.t_ns, first.world, first.sequence)
    settings = scene.settings
    dt = (exit_[0] - entry[0]) / 1e9
    start, end = np.asarray(entry[1], dtype=float), np.asarray(exit_[1], dtype=float)
    dist = float(np.linalg.norm(end - start))
    if dt <= 0 or dist < settings.speed_min_distance_m:
        return None
    direction = (end - start) / dist
    samples = [(0.0, 0.0)]
    samples += [
        ((p.t_ns - entry[0]) / 1e9, float(np.dot(np.asarray(p.world) - start, direction)))
        for p in track.points
        if entry[0] < p.t_ns < exit_[0]
    ]
    samples.append((dt, dist))
    t = np.array([a for a, _ in samples])
    s = np.array([b for _, b in samples])
    sigma_d = settings.speed_position_sigma_m * np.sqrt(2)
    sigma_t = settings.speed_time_sigma_s * np.sqrt(2)
    ends_mps = dist / dt * float(np.hypot(sigma_d / dist, sigma_t / dt))
    if len(samples) >= 5:
        slope, intercept = np.polyfit(t, s, 1)
        residual = s - (slope * t + intercept)
        spread = float(np.sum((t - t.mean()) ** 2))
        fit_mps = float(np.sqrt(np.sum(residual**2) / (len(samples) - 2) / spread)) if spread > 0 else 0.0
        energy = float(np.sum(residual**2))
        r = float(np.sum(residual[1:] * residual[:-1]) / energy) if energy > 0 else 0.0
        r = min(max(r, 0.0), 0.9)
        fit_mps *= float(np.sqrt((1 + r) / (1 - r)))
        mps, trajectory_mps = float(slope), fit_mps
    else:
        mps, fit_mps, trajectory_mps = dist / dt, 0.0, ends_mps
    jitter_mps = _jitter_floor_mps(scene, track.vehicle_class, entry[1], exit_[1], dt)
    trajectory_mps = max(trajectory_mps, jitter_mps)
    factor, height_rel = _height_factor(track.vehicle_class, scene)
    mps, fit_mps, ends_mps, trajectory_mps = (v * factor for v in (mps, fit_mps, ends_mps, trajectory_mps))
    cal = max(_calibration_error(scene.camera), settings.speed_calibration_floor) * mps
    height_mps = height_rel * mps
    sigma = float(np.sqrt(trajectory_mps**2 + cal**2 + height_mps**2))
    return SpeedEstimate(
        speed_kmh=mps * 3.6,
        sigma_kmh=sigma * 3.6,
        distance_m=dist * factor,  # on the road, as the speed: scaled like it
        duration_s=dt,
        points=len(samples),
        exit_t_ns=exit_[0],
        exit_sequence=exit_[2],
        sigma_fit_kmh=fit_mps * 3.6,
        sigma_ends_kmh=ends_mps * 3.6,
        sigma_calibration_kmh=cal * 3.6,
        height_factor=factor,
        sigma_height_kmh=height_mps * 3.6,
    )


def mount_height(scene: Scene) -> float:
    """The camera's height above the road: as configured, else ``speed_assumed_mount_height_m``."""
    configured = scene.camera.calibration.mount_height_m
    return configured if configured is not None else scene.settings.speed_assumed_mount_height_m


def _height_factor(vehicle_class: VehicleClass, scene: Scene) -> tuple[float, float]:
    """(scale, relative sigma) for a speed measured on a box bottom that sits ``h`` above the road.

    A point ``h`` up, seen from a camera ``H`` up, projects onto the road along the ray, ``H / (H -
    h)`` times as far from the camera's foot as it is: every position, and so every distance and
    speed, is that much too large. The relative sigma is that of ``h`` (``speed_bottom_height_sigma_m``)."""
    h = scene.settings.speed_bottom_height_m.get(vehicle_class, 0.0)
    if h <= 0:
        return 1.0, 0.0
    H = mount_height(scene)
    return (H - h) / H, scene.settings.speed_bottom_height_sigma_m / (H - h)


def speeding(track: Track, scene: Scene) -> Decision | None:
    """A violation when the one-sided lower bound of the measured speed (``measure_speed``,
    speed - ``speed_z`` sigma) exceeds the class's limit + the segment's tolerance, and the
    excess it proves reaches the fine table (``SPEED_FINE_MIN_OVER_KMH``). The fine-table bracket
    is taken from that proven excess: the driver gets the benefit of the doubt."""
    seg = scene.camera.speed
    if seg is None or track.vehicle_class not in seg.limits_kmh:
        return None
    est = measure_speed(track, scene)
    if est is None:
        return None
    settings = scene.settings
    limit = seg.limits_kmh[track.vehicle_class]
    lower = est.speed_kmh - settings.speed_z * est.sigma_kmh
    over = lower - limit
    if not speed_is_fined(lower, limit, seg.tolerance_kmh):
        return None
    bracket = speed_bracket(track.vehicle_class, over)
    assert bracket is not None  # over >= the table's lowest edge
    return Decision(
        Rule.SPEEDING,
        RULE_VERSIONS[Rule.SPEEDING],
        est.exit_t_ns,
        est.exit_sequence,
        Measurement(
            speed_kmh=round(est.speed_kmh, 2),
            speed_uncertainty_kmh=round(est.sigma_kmh, 2),
            speed_lower_kmh=round(lower, 2),
            speed_limit_kmh=limit,
            speed_over_kmh=round(over, 2),
            speed_bracket=bracket.label,
            speed_bracket_ref=bracket.reference,
            distance_m=round(est.distance_m, 2),
        ),
        {
            "speed_limit_kmh": limit,
            "tolerance_kmh": seg.tolerance_kmh,
            "z": settings.speed_z,
            "speed_min_distance_m": settings.speed_min_distance_m,
            "speed_fine_min_over_kmh": SPEED_FINE_MIN_OVER_KMH,
            "speed_position_sigma_m": settings.speed_position_sigma_m,
            "speed_calibration_floor": settings.speed_calibration_floor,
            "speed_box_jitter_px": settings.box_jitter_px(track.vehicle_class),
            "speed_bottom_height_m": settings.speed_bottom_height_m.get(track.vehicle_class, 0.0),
            "speed_bottom_height_sigma_m": settings.speed_bottom_height_sigma_m,
            "mount_height_m": mount_height(scene),
            "speed_height_factor": round(est.height_factor, 4),
        },
        f"{est.speed_kmh:.1f} ± {est.sigma_kmh:.1f} km/h over {est.distance_m:.1f} m in {est.duration_s:.2f} s "
        f"(lower bound {lower:.1f}, limit {limit:g}: {bracket.label} km/h over, {bracket.reference})",
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
