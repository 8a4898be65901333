"""``phatnguoi eval speeders``: how much speeding recall an honest lower bound can reach at all.

The speeding rule fines only when the one-sided 95 % lower bound of the measured speed (speed -
1.645 sigma) clears the fine threshold (limit + 5 km/h, or + the camera's tolerance if larger).
A speeder whose true speed lies within about 1.645 sigma of that threshold is therefore missed
about as often as not, however good the rest of the stage is: the recall any honest measurement
can reach depends on how many speeders drive just over the threshold. This command counts them.

It simulates the traffic of a speed camera for many seeds without drawing a frame (the scene
simulator's own judge labels the speeders, exactly as in ``eval scenes``) and reports, for the
true excess over the fine threshold of every labelled speeder: its distribution and, for each
stated sigma, the expected recall of a measurement whose error is unbiased with that standard
deviation and whose lower bound is honest (the mean over speeders of
``Phi(excess / sigma - 1.645)``). Truth only: no detector, so any seed may be used.
"""

from __future__ import annotations

import json
import sys
from statistics import NormalDist

import click
import numpy as np

from detection.rules import RuleSettings, fine_threshold_kmh

#: The speeding rule's one-sided 95 % bound.
Z = RuleSettings().speed_z
#: The violation rates of the eval scenes runs in the README and docs/rules.md: the speeders (and
#: the rest of the traffic, which slows some of them) are the same as there, seed for seed.
RATES = ("red_light=0.3", "speeding=0.4", "wrong_way=0.15", "wrong_lane=0.15", "no_stopping=0.15")
#: Bands of true excess over the fine threshold reported, km/h.
BANDS = ((0.0, 0.5), (0.5, 1.0), (1.0, 1.5), (1.5, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, float("inf")))


def true_excesses(camera_id: str, *, seeds: range, seconds: float, rates: dict[str, float]) -> list[float]:
    """True speed minus the fine threshold of every speeder the simulator's judge labels in the
    first ``seconds`` of each seed, with these violation ``rates``."""
    from detection.types import Rule
    from ingest.sim.camera import SimulatedCamera
    from ingest.sim.types import SimOptions
    from phatnguoi.commands.eval_scenes import load_cameras

    camera = load_cameras([camera_id])[0]
    if camera.speed is None:
        raise click.BadParameter(f"expected a camera with a speed segment, {camera_id} has none")
    tolerance = camera.speed.tolerance_kmh
    options = SimOptions().with_rates(rates)
    frames = int(round(seconds * camera.fps))
    out: list[float] = []
    with click.progressbar(length=len(seeds), label=f"simulating {camera_id}",
                           file=sys.stderr) as bar:
        for seed in seeds:
            bar.update(1)
            sim = SimulatedCamera(camera, seed=seed, options=options)
            for v in sim.judge_only(frames):
                if v.rule == Rule.SPEEDING and v.speed_kmh is not None and v.speed_limit_kmh is not None:
                    out.append(v.speed_kmh - fine_threshold_kmh(v.speed_limit_kmh, tolerance))
    return out


def recall_ceiling(excess: np.ndarray, sigma: float) -> float:
    """Expected recall of an unbiased measurement with error sd ``sigma`` fined on speed - Z sigma."""
    if excess.size == 0:
        return float("nan")
    if sigma <= 0:
        return float(np.mean(excess >= 0))
    cdf = NormalDist().cdf
    return float(np.mean([cdf(x) for x in excess / sigma - Z]))


def report(excess: list[float], sigmas: tuple[float, ...]) -> dict:
    ex = np.asarray(excess, dtype=float)
    n = int(ex.size)
    bands = {
        (f"{lo:g}-{hi:g}" if hi != float("inf") else f">={lo:g}"):
            round(float(((ex >= lo) & (ex < hi)).mean()), 4) if n else None
        for lo, hi in BANDS
    }
    spread = None
    if n:
        spread = {"min": round(float(ex.min()), 2), "p5": round(float(np.percentile(ex, 5)), 2),
                  "median": round(float(np.median(ex)), 2)}
    return {
        "speeders": n,
        "excess_kmh": spread,
        "share_by_excess_kmh": bands,
        "recall_ceiling_by_sigma_kmh": {f"{s:g}": round(recall_ceiling(ex, s), 3) for s in sigmas},
    }


@click.command(name="speeders")
@click.option("--camera", "camera_id", default="sim-speed-01", show_default=True, help="A camera with a speed segment.")
@click.option("--first-seed", type=int, default=9200001, show_default=True, help="First simulator seed.")
@click.option("--seeds", "n_seeds", type=click.IntRange(min=1), default=400, show_default=True, help="How many seeds.")
@click.option("--seconds", type=click.FloatRange(min=1.0), default=90.0, show_default=True,
              help="Simulated seconds per seed.")
@click.option("--rate", "rate_values", multiple=True, metavar="RULE=SHARE", default=RATES, show_default=True,
              help="Share of vehicles intending a violation (default: the README's eval scenes runs).")
@click.option("--sigma", "sigmas", type=click.FloatRange(min=0.0), multiple=True, default=(0.33, 0.57, 0.8),
              show_default=True, help="Speed uncertainty (km/h, one sd) to compute the recall ceiling for.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def group(camera_id: str, first_seed: int, n_seeds: int, seconds: float, rate_values: tuple[str, ...],
          sigmas: tuple[float, ...], as_json: bool) -> None:
    """How close to the fine threshold the simulator's speeders drive, and the speeding recall an
    honest 95 % lower bound can reach with a given speed uncertainty."""
    from phatnguoi.commands.eval_scenes import parse_rates

    excess = true_excesses(camera_id, seeds=range(first_seed, first_seed + n_seeds), seconds=seconds,
                           rates=parse_rates(rate_values))
    out = {"camera": camera_id, "seeds": [first_seed, first_seed + n_seeds - 1], "seconds": seconds,
           "z": Z, **report(excess, sigmas)}
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"{out['speeders']} speeders on {camera_id}, seeds {first_seed}-{first_seed + n_seeds - 1}")
    for band, share in out["share_by_excess_kmh"].items():
        click.echo(f"  {band:>8} km/h over the fine threshold: {share:.1%}" if share is not None else f"  {band}: -")
    for s, rec in out["recall_ceiling_by_sigma_kmh"].items():
        click.echo(f"  sigma {s} km/h: recall at most {rec:.3f} (on average)")
