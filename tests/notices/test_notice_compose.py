"""Formatting for the notice: money, measured values."""

from __future__ import annotations

import pytest

from notices.compose import measured_text, vnd
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
