"""Formatting for the notice: money, measured values."""

from __future__ import annotations

import pytest

from notices.channels import s10_tracking_number
from notices.compose import decided_fine, measured_text, vnd
from notices.types import Language


def test_money_in_both_languages():
    assert vnd(18_000_000, Language.VI) == "18.000.000 đồng"
    assert vnd(800_000, Language.EN) == "VND 800,000"


@pytest.mark.parametrize(
    ("measurement", "vi", "en"),
    [
        (
            {"signal_phase": "red", "seconds_since_red": 2.46},
            "Đèn tín hiệu: đỏ, 2.5 giây sau khi chuyển đỏ",
            "Signal: red, 2.5 s after red",
        ),
        (
            {"speed_kmh": 71.6, "speed_uncertainty_kmh": 2, "speed_limit_kmh": 50},
            "Tốc độ 72 ± 2 km/h / tốc độ cho phép 50 km/h",
            "Speed 72 ± 2 km/h / limit 50 km/h",
        ),
        ({"dwell_s": 95}, "Thời gian dừng 95 s", "Stopped for 95 s"),
        ({}, "Không có", "None"),
    ],
)
def test_measured_values(measurement, vi, en):
    assert measured_text("any", measurement, Language.VI) == vi
    assert measured_text("any", measurement, Language.EN) == en


@pytest.mark.parametrize(
    ("low", "high", "decided"),
    [
        (18_000_000, 20_000_000, 19_000_000),
        (800_000, 1_000_000, 900_000),
        (400_000, 600_000, 500_000),
        (6_000_000, 8_000_000, 7_000_000),
        (200_000, 400_000, 300_000),
    ],
)
def test_a_decision_defaults_to_the_middle_of_the_range(low, high, decided):
    assert decided_fine(low, high) == decided


@pytest.mark.parametrize(
    ("serial", "expected"), [(47312482, "RE473124829VN"), (0, "RE000000005VN"), (1, "RE000000014VN")]
)
def test_postal_tracking_numbers_follow_upu_s10(serial, expected):
    assert s10_tracking_number(serial) == expected  # 47312482 -> 9: the UPU S10 worked example
    with pytest.raises(ValueError, match="at most 8 digits"):
        s10_tracking_number(10**8)
