"""docs/data/measure_dot_gap.py, the measurement behind the generator's ``dot_gap``: run on the
generator's own renders it must find the gaps it drew."""

import importlib.util
from pathlib import Path

import cv2
import pytest

from cases.plates import Layout, PlateColour, PlateKind
from ingest.sim.plates import SimPlate, render_plate

_SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "data" / "measure_dot_gap.py"
_spec = importlib.util.spec_from_file_location("measure_dot_gap", _SCRIPT)
assert _spec and _spec.loader
measure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure)

PLATE = SimPlate("59T159807", "59-T1 / 598.07", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE)


@pytest.mark.parametrize("dot_gap", [0.5, 0.63, 1.0])
def test_measures_the_gaps_the_generator_drew_beside_the_dot(dot_gap):
    img = render_plate(PLATE, 200, squeeze=0.8, tight_gap=0.2, two_row_cap=0.38, dot_gap=dot_gap)
    got = measure.dot_gap_ratios(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    assert got is not None
    assert sum(got) / 2 == pytest.approx(dot_gap, abs=0.08)


def test_a_row_without_a_dot_is_not_measured():
    four = SimPlate("54S16830", "54-S1 / 6830", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE)
    img = render_plate(four, 200, squeeze=0.8, tight_gap=0.2, two_row_cap=0.38)
    assert measure.dot_gap_ratios(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)) is None
