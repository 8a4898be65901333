"""Violation rules, table-driven with builders: a synthetic camera where 20 px = 1 m."""

from __future__ import annotations

import numpy as np
import pytest

from detection.rules import (
    RULE_VERSIONS,
    RuleSettings,
    Scene,
    Track,
    TrackPoint,
    measure_speed,
    no_stopping,
    red_light,
    select_rules,
    speed_bracket,
    speeding,
    wrong_lane,
    wrong_way,
)
from detection.signal import PhaseSpan, SignalTimeline
from detection.types import Box, Rule
from detection.types import SignalPhase as P
from ingest.camera import CameraConfig
from ingest.camera import VehicleClass as V

S = 1_000_000_000
PX_PER_M = 20.0


def camera(**overrides) -> CameraConfig:
    """1280x720; world = (x/20, (720-y)/20) so traffic moving up the image moves +y in metres."""
    raw = {
        "id": "cam-test",
        "name": "Test",
        "address": "Ngã tư Hàng Xanh, Bình Thạnh",
        "gps": {"lat": 10.8, "lon": 106.7},
        "unit": {"code": "PC08", "name": "Phòng CSGT"},
        "fps": 10,
        "calibration": {
            "points": [
                {"image": (x, y), "world": (x / PX_PER_M, (720 - y) / PX_PER_M)}
                for x, y in [(0, 0), (1280, 0), (1280, 720), (0, 720)]
            ]
        },
        "stop_line": [(200, 400), (1080, 400)],
        "lanes": [
            {
                "id": "L1",
                "polygon": [(200, 0), (640, 0), (640, 720), (200, 720)],
                "flow": [(420, 700), (420, 100)],
                "allowed": ["car", "bus", "truck"],
            },
            {
                "id": "L2",
                "polygon": [(640, 0), (1080, 0), (1080, 720), (640, 720)],
                "flow": [(860, 700), (860, 100)],
            },
        ],
        "no_stopping": [
            {"id": "Z1", "polygon": [(640, 420), (1080, 420), (1080, 700), (640, 700)], "max_dwell_s": 5}
        ],
        "speed": {
            "entry": [(200, 600), (1080, 600)],
            "exit": [(200, 200), (1080, 200)],
            "limits_kmh": {"car": 50, "motorbike": 40},
            "tolerance_kmh": 2,
        },
        "signal": {"region": (10, 10, 30, 90), "red_grace_s": 0.5},
    }
    for k, v in overrides.items():
        raw[k] = {**raw[k], **v} if isinstance(v, dict) and isinstance(raw.get(k), dict) else v
    return CameraConfig.model_validate(raw)


def track(path, *, cls=V.CAR, t0=0.0, dt=0.1, seq0=0, track_id=1) -> Track:
    """A track through the image points ``path`` (one per frame)."""
    cam = camera()
    pts = []
    for i, (x, y) in enumerate(path):
        ((wx, wy),) = cam.to_world([(x, y)])
        box = Box(x - 30, y - 60, x + 30, y)
        pts.append(TrackPoint(seq0 + i, int((t0 + i * dt) * S), (x, y), (float(wx), float(wy)), box))
    return Track(track_id, f"{seq0}:{track_id}", cls, tuple(pts))


def straight(x, y0, y1, n):
    return [(x, y0 + (y1 - y0) * i / (n - 1)) for i in range(n)]


def signal(*spans) -> SignalTimeline:
    """spans: (phase, start_s[, start_known])."""
    return SignalTimeline(tuple(PhaseSpan(p, int(t * S), *(rest or (True,))) for p, t, *rest in spans))


CYCLE = signal((P.GREEN, 0), (P.YELLOW, 2), (P.RED, 3))
# a car moving up at 10 m/s (200 px/frame at 10 fps -> 20 px/frame), crossing y=400 at frame 15
UP = straight(420, 700, 100, 31)  # y = 700 - 20 i: crosses 400 at i = 15 (t = 1.5 s + t0)


@pytest.mark.parametrize(
    "name, path, t0, timeline, cam_over, expect",
    [
        ("red long after start", UP, 2.5, CYCLE, {}, (P.RED, 1.0)),
        ("green", UP, 0.0, CYCLE, {}, None),
        ("yellow, not a violation", UP, 0.7, CYCLE, {}, None),
        (
            "yellow, configured as violation",
            UP,
            0.7,
            CYCLE,
            {"signal": {"region": (10, 10, 30, 90), "yellow_is_violation": True}},
            (P.YELLOW, None),
        ),
        ("red inside grace", UP, 1.8, CYCLE, {}, None),  # crosses 0.3 s after red, grace 0.5
        # past the grace at the crossing (0.6 s) but not at the frame before it (0.5 s): the
        # vehicle may have crossed within the grace, so no violation (benefit of the doubt)
        ("red past grace only at the crossing", UP, 2.1, CYCLE, {}, None),
        ("red past grace at the frame before", UP, 2.2, CYCLE, {}, (P.RED, 0.7)),
        ("unknown phase", UP, 2.5, signal((P.UNKNOWN, 0)), {}, None),
        (
            "stream began mid-red, lower bound above grace",
            UP,
            2.5,
            signal((P.RED, 3, False)),
            {},
            (P.RED, 1.0),
        ),
        ("wrong direction crossing", list(reversed(UP)), 2.5, CYCLE, {}, None),
        ("outside the stop line's extent", straight(1200, 700, 100, 31), 2.5, CYCLE, {}, None),
        ("stopped before the line", straight(420, 700, 410, 31), 2.5, CYCLE, {}, None),
        ("no stop line", UP, 2.5, CYCLE, {"stop_line": None}, None),
        ("born at the line: not seen approaching", straight(420, 410, 100, 16), 2.5, CYCLE, {}, None),
        (
            "id switch: a jump of 15 m in one frame",
            [(420, 700), (420, 690), (420, 680), (420, 380)] + straight(420, 370, 100, 10),
            2.5,
            CYCLE,
            {},
            None,
        ),
        (
            "crossed on green, still there on red",
            straight(420, 560, 240, 17) + [(420, 240)] * 30,
            0.0,
            CYCLE,
            {},
            None,
        ),
    ],
)
def test_red_light(name, path, t0, timeline, cam_over, expect):
    decision = red_light(track(path, t0=t0), Scene(camera(**cam_over), timeline))
    if expect is None:
        assert decision is None, decision
        return
    phase, since = expect
    assert decision is not None
    assert decision.rule == Rule.RED_LIGHT and decision.rule_version == "red_light@2"
    assert decision.measurement.signal_phase == phase
    if since is None:
        assert decision.measurement.seconds_since_red is None
    else:
        assert decision.measurement.seconds_since_red == pytest.approx(since, abs=0.011)
    assert decision.occurred_at_ns == pytest.approx((t0 + 1.5) * S, abs=1e6)
    assert decision.sequence == 15
    assert decision.thresholds["red_grace_s"] == camera(**cam_over).signal.red_grace_s
    assert decision.measurement.signal_source == "pixels:10,10,30,90"  # the phase's source is recorded


GRACE_0 = {"signal": {"region": (10, 10, 30, 90), "red_grace_s": 0.0}}
# crosses y = 400 half-way between frames 15 and 16 (t0 + 1.55 s)
BETWEEN = straight(420, 710, 110, 31)


@pytest.mark.parametrize(
    "name, t0, expect_min",
    [
        # last point before the line at 2.97 s (yellow), crossing interpolated at 3.02 s (red):
        # it may have crossed on yellow, so it is not proven
        ("straddles the start of red", 1.47, None),
        # last point before the line already 0.02 s into red: proven
        ("red at the frame before", 1.52, 0.02),
    ],
)
def test_red_light_needs_red_at_the_last_point_before_the_line(name, t0, expect_min):
    decision = red_light(track(BETWEEN, t0=t0), Scene(camera(**GRACE_0), CYCLE))
    if expect_min is None:
        assert decision is None, decision
        return
    assert decision is not None
    assert decision.measurement.seconds_since_red == pytest.approx(expect_min + 0.05, abs=0.002)
    assert decision.measurement.seconds_since_red_min == pytest.approx(expect_min, abs=0.002)
    assert decision.occurred_at_ns == pytest.approx((t0 + 1.55) * S, abs=1e6)


def test_red_light_on_yellow_needs_yellow_at_the_last_point_before_the_line():
    yellow = {"signal": {"region": (10, 10, 30, 90), "yellow_is_violation": True}}
    # last point before the line at 1.97 s (green), crossing at 2.02 s (yellow)
    assert red_light(track(BETWEEN, t0=0.47), Scene(camera(**yellow), CYCLE)) is None
    decision = red_light(track(BETWEEN, t0=0.52), Scene(camera(**yellow), CYCLE))
    assert decision is not None and decision.measurement.signal_phase == P.YELLOW


def test_red_light_records_an_external_signal_controller_as_the_phase_source():
    cam = camera(signal={"source": "topic", "topic": "signals.hx", "region": None})
    decision = red_light(track(UP, t0=2.5), Scene(cam, CYCLE))
    assert decision is not None and decision.measurement.signal_source == "topic:signals.hx"
    assert decision.measurement.signal_phase == P.RED


def test_red_light_waits_until_clearly_past_the_line():
    # only 0.5 m past the line so far: undecided (jitter), then decided once 1 m past
    partial = track(straight(420, 700, 390, 16), t0=2.5)
    assert red_light(partial, Scene(camera(), CYCLE)) is None
    assert red_light(track(straight(420, 700, 380, 17), t0=2.5), Scene(camera(), CYCLE)) is not None


@pytest.mark.parametrize(
    "name, path, expect_m",
    [
        ("with the flow", straight(860, 700, 100, 31), None),
        ("against the flow", straight(860, 100, 700, 31), 4.0),
        ("against, too short", straight(860, 100, 160, 4), None),
        # with the flow, then the box jumps 10 m back in one frame (merged with the vehicle
        # behind) and stays there: 5 m "against the flow" from the start, but no vehicle did it
        ("a jump, not a motion", straight(860, 500, 400, 6) + straight(860, 600, 608, 5), None),
        ("sideways", [(700 + 20 * i, 300) for i in range(15)], None),
        ("outside lanes", straight(1200, 100, 700, 31), None),
    ],
)
def test_wrong_way(name, path, expect_m):
    decision = wrong_way(track(path), Scene(camera()))
    if expect_m is None:
        assert decision is None
    else:
        assert decision is not None and decision.rule_version == RULE_VERSIONS[Rule.WRONG_WAY]
        # >= 4 m against the flow (80 px) from frame 4 on, held on 3 points: frame 6
        assert decision.sequence == 6 and "L2" in decision.detail


@pytest.mark.parametrize(
    "name, ys, fires",
    [
        # far end of a lane in the test camera (20 px = 1 m); flow runs up the image (y falls)
        ("one box jumps 5 m back, then the track ends", [100, 102, 200], False),
        ("one box jumps back, then the track moves on with the flow", [100, 102, 200, 96, 90, 84], False),
        # 5 m back in one frame (49 m/s) is a box jumping to the vehicle behind, not a motion
        ("jumps back 5 m and stays there for 3 points", [100, 102, 200, 204, 208], False),
        ("drives back 5 m at 20 m/s and on", [100, 102, 140, 180, 204, 208, 212], True),
        ("steadily against the flow", [100 + 20 * i for i in range(8)], True),
    ],
)
def test_wrong_way_needs_the_displacement_held(name, ys, fires):
    """The YOLO runs' false wrong-way alarms (docs/rules.md): short far-away tracks whose box
    bottom jumped 4+ m back for a frame or two, or for good (merged with the vehicle behind)."""
    decision = wrong_way(track([(860, y) for y in ys]), Scene(camera()))
    assert (decision is not None) == fires


def test_wrong_way_restarts_after_a_gap():
    """seed 9600001: a far vehicle's track lost for 1.2 s, its id then given to a vehicle 6 m
    nearer that drives with the flow: 6 m "back" across the gap, never driven."""
    far = track([(860, 100 + 2 * i) for i in range(3)])  # 3 frames at ~25 m, with the flow
    near = track([(860, 220 - 10 * i) for i in range(6)], t0=1.2, seq0=12)  # 6 m nearer, with the flow
    joined = Track(1, "0:1", V.CAR, far.points + near.points)
    assert wrong_way(joined, Scene(camera())) is None
    # the same positions without the gap would be a (very fast) vehicle driving back: it fires
    quick = track([(860, 100 + 2 * i) for i in range(3)] + [(860, 140), (860, 180), (860, 220), (860, 222), (860, 224)])
    assert wrong_way(quick, Scene(camera())) is not None


@pytest.mark.parametrize(
    "name, cls, path, fires",
    [
        ("car in car lane", V.CAR, straight(420, 700, 100, 31), False),
        ("motorbike in car lane", V.MOTORBIKE, straight(420, 700, 100, 31), True),
        ("motorbike in open lane", V.MOTORBIKE, straight(860, 700, 100, 31), False),
        ("motorbike briefly in car lane", V.MOTORBIKE, [(420, 700 - 20 * i) for i in range(4)], False),
    ],
)
def test_wrong_lane(name, cls, path, fires):
    decision = wrong_lane(track(path, cls=cls), Scene(camera()))
    assert (decision is not None) == fires
    if fires:
        assert decision.sequence == 10  # 1 s after entering the lane at 10 fps


def _with_gap(t: Track, drop: range) -> Track:
    """``t`` without the points in ``drop`` (frames the vehicle was cut by the edge or not detected)."""
    return Track(t.track_id, t.key, t.vehicle_class, tuple(p for i, p in enumerate(t.points) if i not in drop))


@pytest.mark.parametrize(
    "name, drop, fires",
    [
        # a motorbike in the car lane for frames 0..12 (1.2 s); points missing in ``drop``
        ("all frames seen", range(0), True),
        ("one frame missed (0.2 s gap): bridged", range(3, 4), True),
        ("one early point, then 0.3 s unseen, then 0.8 s", range(1, 4), False),
        ("0.5 s unseen mid-run, 0.6 s after it", range(2, 7), False),
    ],
)
def test_wrong_lane_does_not_count_time_nobody_saw(name, drop, fires):
    """The false wrong-lane alarms of the YOLO run (docs/rules.md): one point from a box YOLO
    ended above the frame edge, then frames cut by the edge, then 0.5-0.8 s in the lane."""
    t = _with_gap(track([(420, 700 - 20 * i) for i in range(13)], cls=V.MOTORBIKE), drop)
    decision = wrong_lane(t, Scene(camera()))
    assert (decision is not None) == fires
    if fires:
        assert decision.thresholds["wrong_lane_max_gap_s"] == 0.25


@pytest.mark.parametrize(
    "name, px_per_frame, jitter_px",
    [
        # the test camera: 20 px = 1 m everywhere, 20 m timed stretch
        ("72 km/h, YOLO's 6 px", 40, 6.0),
        ("36 km/h, YOLO's 6 px", 20, 6.0),
        ("72 km/h, 12 px", 40, 12.0),
        ("72 km/h, no floor", 40, 0.0),
    ],
)
def test_speed_uncertainty_has_a_box_jitter_floor(name, px_per_frame, jitter_px):
    """A clean trajectory (no residuals) still states the uncertainty the detector's box jitter
    allows: jitter_px at each end, in metres on the road, over the stretch's duration."""
    path = [(420, 700 - px_per_frame * i) for i in range(int(600 / px_per_frame) + 3)]
    est = measure_speed(track(path), Scene(camera(), settings=RuleSettings(speed_box_jitter_px=jitter_px)))
    assert est is not None
    floor_kmh = np.hypot(jitter_px / PX_PER_M, jitter_px / PX_PER_M) / est.duration_s * 3.6
    assert est.sigma_kmh == pytest.approx(float(np.hypot(floor_kmh, est.sigma_calibration_kmh)), rel=0.02)


@pytest.mark.parametrize(
    "name, path, dwell",
    [
        ("parked 8 s in the zone", [(860, 600)] * 81, 5.1),
        ("parked with jitter", [(860 + (i % 3) * 5, 600 - (i % 2) * 4) for i in range(81)], 5.1),
        ("parked 4 s", [(860, 600)] * 41, None),
        ("parked outside the zone", [(300, 600)] * 81, None),
        ("slow but moving", straight(860, 690, 430, 81), None),  # 13 m in 8 s
    ],
)
def test_no_stopping(name, path, dwell):
    decision = no_stopping(track(path), Scene(camera()))
    if dwell is None:
        assert decision is None
    else:
        assert decision is not None and decision.measurement.dwell_s == pytest.approx(dwell)
        assert decision.thresholds["max_dwell_s"] == 5


@pytest.mark.parametrize(
    "name, cls, px_per_frame, fires",
    [
        # 20 m segment. px/frame * 10 fps / 20 px/m * 3.6 = km/h
        ("car 36 km/h", V.CAR, 20, False),
        ("car 72 km/h", V.CAR, 40, True),
        ("car 54 km/h: over the tolerance, under the fine table", V.CAR, 30, False),
        ("motorbike 54 km/h", V.MOTORBIKE, 30, True),
        ("bus has no limit here", V.BUS, 40, False),
    ],
)
def test_speeding(name, cls, px_per_frame, fires):
    n = int(600 / px_per_frame) + 3
    path = [(420, 700 - px_per_frame * i) for i in range(n)]
    decision = speeding(track(path, cls=cls), Scene(camera()))
    assert (decision is not None) == fires
    if fires:
        true_kmh = px_per_frame * 10 / PX_PER_M * 3.6
        m = decision.measurement
        assert m.speed_kmh == pytest.approx(true_kmh, rel=0.01)
        assert 0 < m.speed_uncertainty_kmh < 0.05 * true_kmh
        assert m.speed_kmh - 1.645 * m.speed_uncertainty_kmh > m.speed_limit_kmh + 2


@pytest.mark.parametrize(
    "name, y0, fires",
    [
        ("entry seen", 700, True),
        ("came into view past the entry line", 560, True),  # 18 m timed
        ("too little of the segment seen", 340, False),  # 7 m < 8 m
    ],
)
def test_speeding_timed_from_first_point_when_entry_not_seen(name, y0, fires):
    path = [(420, y0 - 40 * i) for i in range(int((y0 - 100) / 40) + 1)]
    decision = speeding(track(path), Scene(camera()))
    assert (decision is not None) == fires
    if fires:
        assert decision.measurement.speed_kmh == pytest.approx(72, rel=0.01)


@pytest.mark.parametrize(
    "name, path",
    [
        # 72 km/h the wrong way, in view from the top of the frame to the bottom: crosses the exit
        # line from beyond it, then the entry line
        ("against the segment, all of it", [(420, 40 * i) for i in range(19)]),
        # coming from far beyond the exit line towards it: the stretch before the exit line is
        # not the segment (a wrong-way motorbike on the eval scene was timed there at 71.6 km/h)
        ("against the segment, seen from beyond the exit line", [(420, 20 + 40 * i) for i in range(6)]),
    ],
)
def test_a_vehicle_driving_the_segment_backwards_is_not_timed(name, path):
    assert measure_speed(track(path), Scene(camera())) is None
    assert speeding(track(path), Scene(camera())) is None


@pytest.mark.parametrize(
    "cls, over, label, ref",
    [
        (V.CAR, 4.99, None, None),
        (V.CAR, 5.0, "5-<10", "168/2024 Art 6.3.a"),
        (V.CAR, 9.99, "5-<10", "168/2024 Art 6.3.a"),
        (V.CAR, 10.0, "10-20", "168/2024 Art 6.5.đ"),
        (V.CAR, 20.0, "10-20", "168/2024 Art 6.5.đ"),
        (V.CAR, 20.01, ">20-35", "168/2024 Art 6.6.a"),
        (V.CAR, 35.0, ">20-35", "168/2024 Art 6.6.a"),
        (V.CAR, 35.01, ">35", "168/2024 Art 6.7.a"),
        (V.TRUCK, 12.0, "10-20", "168/2024 Art 6.5.đ"),
        (V.MOTORBIKE, 7.0, "5-<10", "168/2024 Art 7.2.b"),
        (V.MOTORBIKE, 20.0, "10-20", "168/2024 Art 7.4.a"),
        (V.MOTORBIKE, 50.0, ">20", "168/2024 Art 7.8.a"),
    ],
)
def test_speed_bracket(cls, over, label, ref):
    bracket = speed_bracket(cls, over)
    assert (bracket.label if bracket else None, bracket.reference if bracket else None) == (label, ref)


def test_speeding_records_the_bracket_of_the_proven_excess():
    path = [(420, 700 - 40 * i) for i in range(18)]  # 72 km/h, limit 50
    m = speeding(track(path), Scene(camera())).measurement
    assert m.speed_lower_kmh == pytest.approx(m.speed_kmh - 1.645 * m.speed_uncertainty_kmh, abs=0.02)
    assert m.speed_over_kmh == pytest.approx(m.speed_lower_kmh - 50, abs=0.02)
    assert m.speed_bracket == speed_bracket(V.CAR, m.speed_over_kmh).label
    assert m.speed_bracket_ref.startswith("168/2024 Art 6.")
    assert m.distance_m == pytest.approx(20, abs=0.5)


def test_speeding_needs_an_excess_the_fine_table_reaches():
    """54 km/h against 50 + 2 tolerance: over the tolerance, but the proven excess is < 5 km/h."""
    path = [(420, 700 - 30 * i) for i in range(23)]
    est = measure_speed(track(path), Scene(camera()))
    assert est is not None and est.speed_kmh - 1.645 * est.sigma_kmh > 52
    assert est.speed_kmh - 1.645 * est.sigma_kmh - 50 < 5
    assert speeding(track(path), Scene(camera())) is None


def test_speed_uncertainty_follows_the_trajectory():
    """A jittery trajectory (ground point +-1.5 m) states a larger uncertainty than a clean one
    (where only the calibration's floor is left), and it covers the truth."""
    rng = np.random.default_rng(3)
    clean = [(420, 700 - 40 * i) for i in range(18)]
    noisy = [(x + rng.normal(0, 3), y + rng.normal(0, 30)) for x, y in clean]
    fit_only = Scene(camera(), settings=RuleSettings(speed_box_jitter_px=0.0))  # the fit, without the floor
    a = measure_speed(track(clean), fit_only)
    b = measure_speed(track(noisy), fit_only)
    assert a is not None and b is not None
    assert b.sigma_fit_kmh > a.sigma_fit_kmh
    assert a.sigma_kmh == pytest.approx(a.sigma_calibration_kmh, rel=1e-3)
    assert b.sigma_kmh > a.sigma_kmh
    assert a.sigma_calibration_kmh == pytest.approx(0.005 * a.speed_kmh, rel=0.01)  # exact calibration: the floor
    assert abs(b.speed_kmh - 72) <= 1.96 * b.sigma_kmh


def test_select_rules():
    assert set(select_rules(None)) == set(Rule)
    assert list(select_rules(["red_light"])) == [Rule.RED_LIGHT]
    with pytest.raises(ValueError, match="known rules: red_light"):
        select_rules(["jaywalking"])


def _bus_seen_from_behind(camera_cfg: CameraConfig, *, kmh: float, bottom_h: float, cls=V.BUS) -> Track:
    """A vehicle driving away up the lane at ``kmh``, its box bottom the rear underside ``bottom_h``
    above the road: projected through the pinhole behind the camera file, then back onto the road
    with the file's homography, as the stage does with a box's bottom centre."""
    from ingest.sim.geometry import pose_from_config

    pose = pose_from_config(camera_cfg)
    v = kmh / 3.6
    pts = []
    for i in range(40):
        t = i / camera_cfg.fps
        uv, _ = pose.project(np.array([[5.6, 8.0 + v * t, bottom_h]]))
        u, w = float(uv[0, 0]), float(uv[0, 1])
        ((wx, wy),) = camera_cfg.to_world([(u, w)])
        pts.append(TrackPoint(i, int(t * S), (u, w), (float(wx), float(wy)), Box(u - 60, w - 150, u + 60, w)))
    return Track(1, "0:1", cls, tuple(pts))


def _sim_speed_camera(**calibration) -> CameraConfig:
    from ingest.camera import load_camera
    from ingest.sim.scenes import CAMERAS_DIR

    cam = load_camera(CAMERAS_DIR / "sim-speed-01.yaml")
    return cam.model_copy(update={"calibration": cam.calibration.model_copy(update=calibration)})


def test_a_bus_timed_on_its_rear_underside_reads_fast_by_the_height_and_is_scaled_back():
    """A box bottom 0.4 m up, seen from 7 m, lands on the road 7 / 6.6 times as far from the
    camera: the speed reads 6 % fast unless the rule knows the class's bottom height."""
    cam = _sim_speed_camera()
    assert cam.calibration.mount_height_m == 7.0
    bus = _bus_seen_from_behind(cam, kmh=60.0, bottom_h=0.4)
    est = measure_speed(bus, Scene(cam))
    assert est is not None
    assert est.height_factor == pytest.approx(6.6 / 7.0)
    assert est.speed_kmh == pytest.approx(60.0, rel=0.003)
    assert est.sigma_height_kmh == pytest.approx(60.0 * 0.05 / 6.6, rel=0.01)
    assert est.distance_m / est.duration_s * 3.6 == pytest.approx(est.speed_kmh, rel=0.01)  # the same road
    raw = measure_speed(bus, Scene(cam, settings=RuleSettings(speed_bottom_height_m={})))
    assert raw.height_factor == 1.0 and raw.sigma_height_kmh == 0.0
    assert raw.speed_kmh == pytest.approx(60.0 * 7.0 / 6.6, rel=0.003)
    # a car's box ends at its wheels: no correction for that class
    car = _bus_seen_from_behind(cam, kmh=60.0, bottom_h=0.0, cls=V.CAR)
    assert measure_speed(car, Scene(cam)).speed_kmh == pytest.approx(60.0, rel=0.003)


def test_without_a_mount_height_the_bus_correction_assumes_a_low_camera_in_the_drivers_favour():
    cam = _sim_speed_camera(mount_height_m=None)
    bus = _bus_seen_from_behind(cam, kmh=70.0, bottom_h=0.4)
    est = measure_speed(bus, Scene(cam))
    assert est.height_factor == pytest.approx(4.6 / 5.0)
    assert est.speed_kmh < 70.0  # slower than the truth, never faster
    decision = speeding(bus, Scene(cam))
    assert decision is not None
    assert decision.thresholds["mount_height_m"] == 5.0
    assert decision.thresholds["speed_bottom_height_m"] == 0.4
    assert RULE_VERSIONS[Rule.SPEEDING] == decision.rule_version == "speeding@5"
