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


def test_the_share_is_also_given_per_class() -> None:
    """A bias of one class must show: buses measured fast hid in a pooled share of 95 %."""
    from dataclasses import replace

    from ingest.camera import VehicleClass

    cam = camera()
    measured = measure_speed(_item(0)["track"], Scene(cam, settings=RuleSettings(speed_box_jitter_px=6)))
    speed, sigma = measured.speed_kmh, measured.sigma_kmh
    car = _item(speed)
    bus = _item(speed - 2 * sigma)
    bus["track"] = replace(bus["track"], vehicle_class=VehicleClass.TRUCK)  # no bottom-height correction
    row = calibration([car, bus], cam, [6.0], z=1.645)["6"]
    assert row["per_class"]["car"] == {"n": 1, "lower_bound_holds": 1.0, "bias_kmh": 0.0, "error_mean_kmh": 0.0}
    assert row["per_class"]["truck"]["lower_bound_holds"] == 0.0
    assert row["per_class"]["truck"]["bias_kmh"] == pytest.approx(2 * sigma, abs=0.02)


def test_floors_apply_to_every_class_and_the_shipped_settings_come_last() -> None:
    """A motorbike has its own 2 px floor when shipped; a compared floor replaces it for all."""
    from dataclasses import replace

    from ingest.camera import VehicleClass

    cam = camera()
    bike = _item(72.0)
    bike["track"] = replace(bike["track"], vehicle_class=VehicleClass.MOTORBIKE)
    table = calibration([bike], cam, [3.0, 6.0], z=1.645)
    assert list(table) == ["3", "6", "shipped"]
    assert table["6"]["sigma_median_kmh"] > table["3"]["sigma_median_kmh"] > table["shipped"]["sigma_median_kmh"]
    assert RuleSettings().box_jitter_px(VehicleClass.MOTORBIKE) == 2.0
    assert RuleSettings().box_jitter_px(VehicleClass.CAR) == 3.0
