"""``phatnguoi eval scenes``: the matching of detected to true violations, table-driven, plus one
short smoke run of the real stage on a simulated scene (oracle detector, so it stays fast)."""

from __future__ import annotations

import pytest

from detection.types import Box, Rule
from phatnguoi.commands.eval_scenes import (
    EVAL_SEED,
    Detected,
    Scored,
    Truth,
    associate,
    began_before_start,
    match,
    rule_table,
    run_scene,
    score,
    speed_errors,
    wilson,
)

R, S, W = Rule.RED_LIGHT, Rule.SPEEDING, Rule.WRONG_WAY


def d(rule: Rule, seq: int, vehicle: int | None, plate: str | None = "51A12345", **kw: object) -> Detected:
    return Detected(rule, seq, vehicle, plate, **kw)  # type: ignore[arg-type]


def t(rule: Rule, seq: int, vehicle: int, plate: str = "51A12345", **kw: object) -> Truth:
    return Truth(rule, seq, vehicle, plate, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("detected", "truths", "pairs", "n_false", "n_missed"),
    [
        pytest.param([d(R, 100, 7)], [t(R, 101, 7)], [(0, 0)], 0, 0, id="same rule, vehicle, close in time"),
        pytest.param([d(R, 100, 7)], [t(S, 100, 7)], [], 1, 1, id="other rule"),
        pytest.param([d(R, 100, 8)], [t(R, 100, 7)], [], 1, 1, id="other vehicle"),
        pytest.param([d(R, 100, None)], [t(R, 100, 7)], [], 1, 1, id="phantom track"),
        pytest.param([d(R, 131, 7)], [t(R, 100, 7)], [], 1, 1, id="outside the window"),
        pytest.param([d(R, 130, 7)], [t(R, 100, 7)], [(0, 0)], 0, 0, id="at the window's edge"),
        pytest.param(
            [d(R, 100, 7), d(R, 104, 7)], [t(R, 103, 7)], [(1, 0)], 1, 0, id="duplicate: closest wins, other is false"
        ),
        pytest.param(
            [d(R, 100, 7), d(W, 100, 7)], [t(W, 99, 7), t(R, 102, 7)], [(0, 1), (1, 0)], 0, 0, id="two rules, one car"
        ),
        pytest.param([], [t(R, 100, 7)], [], 0, 1, id="nothing detected"),
        pytest.param([d(R, 100, 7)], [], [], 1, 0, id="nothing true"),
    ],
)
def test_match(detected, truths, pairs, n_false, n_missed) -> None:
    matches, false_pos, misses = match(detected, truths, window=30)
    assert sorted((detected.index(a), truths.index(b)) for a, b in matches) == pairs
    assert (len(false_pos), len(misses)) == (n_false, n_missed)


@pytest.mark.parametrize(
    ("detected", "truths", "tp", "fp", "missed"),
    [
        pytest.param([d(R, 95, 1)], [t(R, 99, 1)], 1, 0, 0, id="inside the window"),
        pytest.param([d(R, 103, 1)], [t(R, 99, 1)], 1, 0, 0, id="event after the end, truth inside: counts"),
        pytest.param([d(R, 103, 1)], [t(R, 101, 1)], 0, 0, 0, id="both after the end: ignored"),
        pytest.param([d(R, 103, 2)], [], 0, 0, 0, id="unmatched event after the end: ignored"),
        pytest.param([d(R, 99, 2)], [], 0, 1, 0, id="unmatched event inside: false"),
        pytest.param([], [t(R, 101, 1)], 0, 0, 0, id="truth after the end: not a miss"),
        pytest.param([], [t(R, 99, 1)], 0, 0, 1, id="truth inside: a miss"),
    ],
)
def test_score_window(detected, truths, tp, fp, missed) -> None:
    s = score(detected, truths, window=10, end=100)
    assert (len(s.matches), len(s.false_positives), len(s.misses)) == (tp, fp, missed)


def test_match_window_per_rule() -> None:
    detected = [d(R, 120, 1), d(W, 120, 2)]
    truths = [t(R, 100, 1), t(W, 100, 2)]
    matches, false_pos, misses = match(detected, truths, window={R: 10, W: 30, S: 10})
    assert [m[0].rule for m in matches] == [W]
    assert [x.rule for x in false_pos] == [R] and [x.rule for x in misses] == [R]


def test_unmatched_detection_of_a_vehicle_there_from_the_start_is_excused() -> None:
    s = score([d(W, 10, 4), d(W, 12, 5)], [], window=30, end=100, present_at_start=frozenset({4}))
    assert [x.vehicle for x in s.false_positives] == [5]
    assert [x.vehicle for x in s.excused] == [4]
    assert rule_table(s)["wrong_way"]["excused"] == 1


def test_a_miss_whose_act_began_before_the_first_frame_is_excused() -> None:
    N = Rule.NO_STOPPING
    truths = [Truth(N, 43, 7, "21Z127876", before_start=True), Truth(N, 300, 8, "51A12345")]
    s = score([d(N, 305, 8)], truths, window=150, end=900)
    assert s.misses == () and [t.vehicle for t in s.excused_misses] == [7]
    assert rule_table(s)["no_stopping"]["excused_misses"] == 1 and rule_table(s)["no_stopping"]["recall"] == 1.0
    # a truth marked so but matched is an ordinary true positive
    s = score([d(N, 50, 7)], truths[:1], window=150, end=900)
    assert len(s.matches) == 1 and s.excused_misses == ()


@pytest.mark.parametrize(
    ("rule", "dwell_s", "seen_s", "expected"),
    [
        pytest.param(Rule.NO_STOPPING, 15.1, 4.4, True, id="dwell 15 s after 4.4 s of stream (seed 9600001)"),
        pytest.param(Rule.NO_STOPPING, 15.1, 30.0, False, id="dwell seen in full"),
        pytest.param(Rule.WRONG_LANE, None, 0.6, True, id="wrong lane labelled 0.6 s in"),
        pytest.param(Rule.WRONG_LANE, None, 1.5, False, id="wrong lane seen in full"),
        pytest.param(Rule.RED_LIGHT, None, 0.2, False, id="an instant act"),
    ],
)
def test_began_before_start(rule, dwell_s, seen_s, expected) -> None:
    assert began_before_start(rule, dwell_s, seen_s) is expected


def box(x: float, y: float, w: float = 40, h: float = 40) -> Box:
    return Box(x, y, x + w, y + h)


@pytest.mark.parametrize(
    ("track", "truth", "around", "expected"),
    [
        pytest.param({10: box(0, 0)}, {10: {5: box(2, 2), 6: box(100, 0)}}, 10, 5, id="best overlap"),
        pytest.param({10: box(0, 0)}, {10: {5: box(35, 35)}}, 10, None, id="overlap too small"),
        pytest.param({10: box(0, 0)}, {11: {5: box(0, 0)}}, 10, None, id="no truth on the track's frames"),
        pytest.param(
            {8: box(0, 0), 9: box(0, 0), 10: box(100, 0)},
            {8: {1: box(0, 0)}, 9: {1: box(0, 0)}, 10: {2: box(100, 0)}},
            10,
            1,
            id="majority of the frames",
        ),
        pytest.param(
            {9: box(0, 0), 10: box(100, 0)},
            {9: {1: box(0, 0)}, 10: {2: box(100, 0)}},
            10,
            2,
            id="tie: the frame nearest the violation",
        ),
        pytest.param(
            {0: box(0, 0), 1: box(0, 0), 2: box(0, 0), 10: box(100, 0)},
            {0: {1: box(0, 0)}, 1: {1: box(0, 0)}, 2: {1: box(0, 0)}, 10: {2: box(100, 0)}},
            10,
            2,
            id="frames beyond the radius do not vote",
        ),
    ],
)
def test_associate(track, truth, around, expected) -> None:
    assert associate(track, truth, around=around, radius=5) == expected


def test_rule_table_counts_plates_and_speed() -> None:
    scored = Scored(
        matches=(
            (
                d(S, 1, 1, "51A-123.45", speed_kmh=80.0, speed_uncertainty_kmh=2.0),
                t(S, 1, 1, "51A12345", speed_kmh=79.0),
            ),
            (d(S, 5, 2, None, speed_kmh=70.0, speed_uncertainty_kmh=1.0, needs_manual_plate=True),
             t(S, 5, 2, "59X123456", speed_kmh=75.0)),
        ),
        false_positives=(d(R, 9, None),),
        misses=(t(S, 20, 3), t(S, 21, 4)),
    )
    table = rule_table(scored)
    assert table["speeding"]["precision"] == 1.0
    assert table["speeding"]["recall"] == 0.5
    assert table["speeding"]["plate_exact"] == 1  # printed form compared on letters and digits
    assert table["speeding"]["needs_manual_plate"] == 1
    assert table["red_light"] == {
        "truth": 0, "detected": 1, "true_positives": 0, "precision": 0.0, "recall": None,
        "precision_ci95": (0.0, 0.793), "recall_ci95": None,
        "plate_exact": 0, "plate_exact_share": None, "needs_manual_plate": 0, "excused": 0,
        "excused_misses": 0,
    }
    err = table["speeding"]["speed_error"]
    assert err["n"] == 2 and err["mean_kmh"] == 3.0 and err["bias_kmh"] == -2.0
    assert err["within_95ci"] == 0.5  # 1 km/h off with sigma 2 is inside; 5 km/h off with sigma 1 is not


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(0, 0, None), (6, 6, (0.61, 1.0)), (95, 100, (0.888, 0.978)), (0, 5, (0.0, 0.434))],
)
def test_wilson_interval(k: int, n: int, expected: tuple[float, float] | None) -> None:
    assert wilson(k, n) == (pytest.approx(expected, abs=1e-3) if expected else None)


def test_speed_errors_none_without_speeds() -> None:
    assert speed_errors([(d(R, 1, 1), t(R, 1, 1))]) is None


def test_run_scene_smoke() -> None:
    """A short real run: simulator -> stage (oracle boxes, real tracker, rules, reader, evidence)
    -> matching. Red-light intent is raised and the signal plan shifted (red from 3 s on) so the
    12 s hold violations to score."""
    from ingest.camera import load_camera
    from ingest.sim.types import SignalTiming
    from phatnguoi.commands.eval_scenes import CAMERA_DIR

    camera = load_camera(CAMERA_DIR / "sim-intersection-01.yaml")
    run = run_scene(
        camera, seed=EVAL_SEED, seconds=12, oracle=True, rates={"red_light": 0.9}, tail_s=3,
        sim_options={"signal": SignalTiming(offset_s=-20.0)},
    )
    table = rule_table(run.scored)
    assert run.frames == 150
    red = table["red_light"]
    assert red["truth"] >= 1
    assert red["true_positives"] >= 1
    assert red["precision"] >= 0.5


def test_speeding_recall_by_true_excess() -> None:
    """Borderline speeders (5-<10 km/h over) are told apart from clear ones."""
    truths = [
        t(Rule.SPEEDING, 10, 1, speed_kmh=67.0, speed_limit_kmh=60.0),  # found
        t(Rule.SPEEDING, 50, 2, speed_kmh=68.0, speed_limit_kmh=60.0),  # missed
        t(Rule.SPEEDING, 90, 3, speed_kmh=75.0, speed_limit_kmh=60.0),  # found, 15 over
        t(Rule.SPEEDING, 130, 4, speed_kmh=95.0, speed_limit_kmh=70.0),  # missed, 25 over
    ]
    detected = [d(Rule.SPEEDING, 11, 1, speed_kmh=66.5), d(Rule.SPEEDING, 91, 3, speed_kmh=74.0)]
    table = rule_table(score(detected, truths, window={Rule.SPEEDING: 30}, end=1000))
    bands = table["speeding"]["recall_by_excess"]
    assert {k: (v["truth"], v["found"]) for k, v in bands.items()} == {"5-<10": (2, 1), "10-20": (1, 1), ">20": (1, 0)}
    assert bands["5-<10"]["recall"] == 0.5 and bands[">20"]["recall"] == 0.0
    assert "recall_by_excess" not in table.get("red_light", {})

