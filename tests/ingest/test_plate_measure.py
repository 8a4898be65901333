"""ingest.sim.plate_measure, the measurement behind the generator's ``dot_gap`` (run on real
crops by docs/data/measure_dot_gap.py): on the generator's own renders it must find the gaps it drew."""

import cv2
import numpy as np
import pytest

from cases.plates import Layout, PlateColour, PlateKind
from ingest.sim.plate_measure import dot_gap_ratios, ink_runs
from ingest.sim.plates import SimPlate, render_plate

PLATE = SimPlate("59T159807", "59-T1 / 598.07", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE)


@pytest.mark.parametrize("dot_gap", [0.5, 0.63, 1.0])
def test_measures_the_gaps_the_generator_drew_beside_the_dot(dot_gap):
    img = render_plate(PLATE, 200, squeeze=0.8, tight_gap=0.2, two_row_cap=0.38, dot_gap=dot_gap)
    got = dot_gap_ratios(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    assert got is not None
    assert sum(got) / 2 == pytest.approx(dot_gap, abs=0.08)


def test_a_row_without_a_dot_is_not_measured():
    four = SimPlate("54S16830", "54-S1 / 6830", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE)
    img = render_plate(four, 200, squeeze=0.8, tight_gap=0.2, two_row_cap=0.38)
    assert dot_gap_ratios(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)) is None


def test_ink_runs_include_runs_at_both_ends():
    assert ink_runs(np.array([1, 1, 0, 0, 1, 0, 1], bool)) == [(0, 2), (4, 5), (6, 7)]
    assert ink_runs(np.zeros(4, bool)) == []
