"""The Decree 168/2024 tariff, table-driven from shared/DOMAIN.md."""

from __future__ import annotations

from datetime import date

import pytest

from cases.tariff import TariffError, fine_for, load_tariffs

ON = date(2026, 3, 14)
M = 1_000_000

# rule, vehicle class, measurement, (min, max, points, reference prefix)
TABLE = [
    ("red_light", "car", {}, (18 * M, 20 * M, 4, "điểm b khoản 9 Điều 6")),
    ("red_light", "motorbike", {}, (4 * M, 6 * M, 4, "điểm c khoản 7 Điều 7")),
    ("red_light", "truck", {}, (18 * M, 20 * M, 4, "điểm b khoản 9 Điều 6")),
    ("wrong_lane", "car", {}, (4 * M, 6 * M, 2, "điểm b khoản 5 Điều 6")),
    ("wrong_lane", "motorbike", {}, (600_000, 800_000, 0, "điểm d khoản 3 Điều 7")),
    ("wrong_way", "car", {}, (18 * M, 20 * M, 4, "điểm d khoản 9 Điều 6")),
    ("wrong_way", "motorbike", {}, (4 * M, 6 * M, 2, "điểm a khoản 7 Điều 7")),
    ("no_stopping", "car", {}, (600_000, 800_000, 0, "điểm đ khoản 2 Điều 6")),
    ("no_stopping", "motorbike", {}, (400_000, 600_000, 0, "điểm e khoản 2 Điều 7")),
    ("no_helmet", "motorbike", {}, (400_000, 600_000, 0, "điểm h khoản 2 Điều 7")),
    ("no_seatbelt", "car", {}, (800_000, 1 * M, 0, "điểm k khoản 3 Điều 6")),
    # speeding brackets on km/h over the limit (car: 50 limit)
    (
        "speeding",
        "car",
        {"speed_kmh": 55, "speed_limit_kmh": 50},
        (800_000, 1 * M, 0, "điểm a khoản 3 Điều 6"),
    ),
    (
        "speeding",
        "car",
        {"speed_kmh": 59.9, "speed_limit_kmh": 50},
        (800_000, 1 * M, 0, "điểm a khoản 3 Điều 6"),
    ),
    ("speeding", "car", {"speed_kmh": 60, "speed_limit_kmh": 50}, (4 * M, 6 * M, 2, "điểm đ khoản 5 Điều 6")),
    ("speeding", "car", {"speed_kmh": 70, "speed_limit_kmh": 50}, (4 * M, 6 * M, 2, "điểm đ khoản 5 Điều 6")),
    (
        "speeding",
        "car",
        {"speed_kmh": 70.5, "speed_limit_kmh": 50},
        (6 * M, 8 * M, 4, "điểm a khoản 6 Điều 6"),
    ),
    ("speeding", "car", {"speed_kmh": 85, "speed_limit_kmh": 50}, (6 * M, 8 * M, 4, "điểm a khoản 6 Điều 6")),
    (
        "speeding",
        "car",
        {"speed_kmh": 86, "speed_limit_kmh": 50},
        (12 * M, 14 * M, 6, "điểm a khoản 7 Điều 6"),
    ),
    (
        "speeding",
        "motorbike",
        {"speed_kmh": 47, "speed_limit_kmh": 40},
        (400_000, 600_000, 0, "điểm b khoản 2 Điều 7"),
    ),
    (
        "speeding",
        "motorbike",
        {"speed_kmh": 55, "speed_limit_kmh": 40},
        (800_000, 1 * M, 0, "điểm a khoản 4 Điều 7"),
    ),
    (
        "speeding",
        "motorbike",
        {"speed_kmh": 61, "speed_limit_kmh": 40},
        (6 * M, 8 * M, 4, "điểm a khoản 8 Điều 7"),
    ),
    (
        "speeding",
        "motorbike",
        {"speed_kmh": 120, "speed_limit_kmh": 40},
        (6 * M, 8 * M, 4, "điểm a khoản 8 Điều 7"),
    ),
    # the measurement's uncertainty is the driver's: 61 ± 2 over 40 is 19 over, not 21
    (
        "speeding",
        "motorbike",
        {"speed_kmh": 61, "speed_limit_kmh": 40, "speed_uncertainty_kmh": 2},
        (800_000, 1 * M, 0, "điểm a khoản 4 Điều 7"),
    ),
]


@pytest.mark.parametrize(("rule", "vehicle", "measurement", "expected"), TABLE)
def test_fine_table(rule, vehicle, measurement, expected):
    fine = fine_for(rule, vehicle, measurement, ON)
    assert (fine.min_vnd, fine.max_vnd, fine.points) == expected[:3]
    assert fine.reference.startswith(expected[3])
    assert fine.reference.endswith("Nghị định 168/2024/NĐ-CP")
    assert fine.tariff_version == "ND168-2024"


def test_measurement_object_works_like_a_dict():
    from detection.types import Measurement

    fine = fine_for("speeding", "car", Measurement(speed_kmh=75, speed_limit_kmh=50), ON)
    assert fine.points == 4


@pytest.mark.parametrize(
    ("rule", "vehicle", "measurement", "on", "message"),
    [
        ("speeding", "car", {"speed_kmh": 53, "speed_limit_kmh": 50}, ON, "no bracket"),
        ("speeding", "car", {"speed_kmh": 70}, ON, "speed_limit_kmh"),
        ("no_helmet", "car", {}, ON, "no fine for car"),
        ("red_light", "tank", {}, ON, "vehicle class"),
        ("teleporting", "car", {}, ON, "expected a rule"),
        ("red_light", "car", {}, date(2024, 12, 31), "no tariff in force"),
    ],
)
def test_no_fine_is_a_clear_error(rule, vehicle, measurement, on, message):
    with pytest.raises(TariffError, match=message):
        fine_for(rule, vehicle, measurement, on)


def test_tariff_versions_pick_the_one_in_force(tmp_path):
    text = tmp_path / "t.yaml"
    base = load_tariffs()[0].model_dump(mode="json")
    newer = {**base, "version": "NEXT", "effective_from": "2027-01-01"}
    old = {**base, "effective_to": "2026-12-31"}
    import yaml

    text.write_text(yaml.safe_dump({"tariffs": [old, newer]}, allow_unicode=True), encoding="utf-8")
    tariffs = load_tariffs(text)
    assert (
        fine_for("red_light", "car", {}, date(2026, 12, 31), tariffs=tariffs).tariff_version == "ND168-2024"
    )
    assert fine_for("red_light", "car", {}, date(2027, 1, 1), tariffs=tariffs).tariff_version == "NEXT"


def test_bad_tariff_file_names_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "tariffs:\n  - version: X\n    decree: D\n    effective_from: 2025-01-01\n    effective_to: null\n"
        "    rules:\n      red_light: {behaviour_vi: a, behaviour_en: b,\n"
        "                  car: {min: 5, max: 1, points: 0, ref: '6.1.a'}}\n"
    )
    with pytest.raises(TariffError, match="min <= max"):
        load_tariffs(bad)
