"""``eval speed``'s scoring: how often the stated lower bound and interval hold the true speed."""

from __future__ import annotations

import pytest
from test_rules import camera, track

from detection.rules import RuleSettings, Scene, measure_speed
from phatnguoi.commands.eval_speed import calibration


def _item(true_kmh: float, px_per_frame: float = 40) -> dict:
    path = [(420, 700 - px_per_frame * i) for i in range(int(600 / px_per_frame) + 3)]
    t = track(path)
    return {"track": t, "vehicle": 1, "speeds": {p.sequence: true_kmh for p in t.points}}


def test_lower_bound_and_interval_against_the_true_speed() -> None:
    cam = camera()
    measured = measure_speed(_item(0)["track"], Scene(cam, settings=RuleSettings(speed_box_jitter_px=6)))
    assert measured is not None
    speed, sigma = measured.speed_kmh, measured.sigma_kmh  # 72 km/h on the test camera
    items = [
        _item(speed),  # measured exactly
        _item(speed + 4 * sigma),  # much faster than measured: the lower bound holds, the interval does not
        _item(speed - 2 * sigma),  # slower than the lower bound (z 1.645): a fine it would not deserve
    ]
    row = calibration(items, cam, [6.0], z=1.645)["6"]
    assert row["n"] == 3
    assert row["lower_bound_holds"] == pytest.approx(2 / 3, abs=1e-3)
    assert row["inside_95ci"] == pytest.approx(1 / 3, abs=1e-3)
    assert row["bias_kmh"] == pytest.approx(-(4 * sigma - 2 * sigma) / 3, abs=0.02)
    assert row["sigma_median_kmh"] == pytest.approx(sigma, abs=0.01)
    # no floor: a clean trajectory states almost no uncertainty, so even the exact one barely holds
    tight = calibration(items, cam, [0.0], z=1.645)["0"]
    assert tight["sigma_median_kmh"] < row["sigma_median_kmh"]
