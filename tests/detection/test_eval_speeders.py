"""``phatnguoi eval speeders``: the recall an honest lower bound allows, from the simulator's truth."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from phatnguoi.commands.eval_speeders import recall_ceiling, report


def test_a_speeder_at_the_threshold_is_caught_one_time_in_twenty_a_clear_one_always():
    assert recall_ceiling(np.array([0.0]), 0.5) == pytest.approx(0.05, abs=0.001)  # Phi(-1.645)
    assert recall_ceiling(np.array([1.645 * 0.5]), 0.5) == pytest.approx(0.5, abs=1e-6)
    assert recall_ceiling(np.array([20.0]), 0.8) == pytest.approx(1.0)
    assert recall_ceiling(np.array([0.1, 3.0]), 0.0) == 1.0  # an exact measurement catches every speeder
    near_and_far = np.array([0.2] * 10 + [10.0] * 90)
    assert recall_ceiling(near_and_far, 0.33) < 0.95 < recall_ceiling(near_and_far, 0.05)


def test_report_shares_and_ceilings():
    out = report([0.2, 0.7, 1.2, 6.0], (0.33, 0.8))
    assert out["speeders"] == 4
    bands = out["share_by_excess_kmh"]
    assert bands["0-0.5"] == bands["0.5-1"] == bands["1-1.5"] == bands[">=5"] == 0.25
    assert sum(bands.values()) == pytest.approx(1.0)
    ceilings = out["recall_ceiling_by_sigma_kmh"]
    assert ceilings["0.33"] > ceilings["0.8"]  # a larger uncertainty proves fewer speeders


def test_the_command_counts_the_speeders_eval_scenes_labels():
    from phatnguoi.commands.eval_speeders import group

    result = CliRunner().invoke(group, ["--first-seed", "9000301", "--seeds", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    # the same speeders as eval scenes on this seed (docs/rules.md): 5, the slowest 66.25 km/h
    assert out["speeders"] == 5 and out["excess_kmh"]["min"] == pytest.approx(66.25 - 65.0, abs=0.01)
    refused = CliRunner().invoke(group, ["--camera", "sim-intersection-01", "--seeds", "1"])
    assert refused.exit_code != 0 and "speed segment" in refused.output
