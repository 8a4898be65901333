"""``phatnguoi eval speed``: is the speed rule's stated uncertainty honest?

The speeding rule fines on the one-sided 95 % lower bound of the measured speed (speed - 1.645
sigma), so sigma must cover the real error: too small and a driver is fined for a speed not
proven, too large and clear speeders go free. This command renders simulator scenes of a speed
camera, runs the real detection stage (shipped YOLO detector, ByteTrack, no plate reading), and
for *every* vehicle timed across the speed segment, violator or not, compares the measured speed
with the simulator's true speed (the mean of its per-frame speeds over the timed stretch), once
per box-jitter floor given (``RuleSettings.speed_box_jitter_px``, for every class), and once with
the shipped settings (per-class floors, ``speed_box_jitter_px_by_class``) as ``shipped``.

It reports, per floor: the share of true speeds at or above the lower bound (must be >= 0.95:
that is the promise the fine rests on), the share inside the two-sided 95 % interval, the error
(mean, p95) and the median stated sigma. Seeds below ``EVAL_SEED`` are refused (the detector
trained on that range, its boxes there are better than on unseen scenes).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np

from detection.fakes import ScriptedReader
from detection.types import Box
from phatnguoi.commands.eval_scenes import _iou, wilson
from phatnguoi.commands.options import detector_options
from phatnguoi.commands.train_detector import EVAL_SEED


def timed_vehicles(camera: Any, *, seed: int, seconds: float, speeding_rate: float, detector: Any) -> list[dict]:
    """Every confirmed track of ``camera`` that crossed its speed segment, with the truth vehicle
    it followed (IoU >= 0.3 on most of its points) and that vehicle's mean true speed."""
    from detection.evidence_store import FileEvidenceStore
    from detection.pipeline import DetectionStage
    from detection.tracking import make_tracker
    from ingest.sim.camera import SimulatedCamera
    from ingest.sim.types import SimOptions

    options = SimOptions(warmup_s=20.0).with_rates({"speeding": speeding_rate})
    tracks: dict[str, Any] = {}
    truth: dict[int, dict[int, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="eval-speed-") as tmp:
        # plates play no part in the speed: a reader that reads nothing, quickly
        stage = DetectionStage({camera.id: camera}, detector=detector, reader=ScriptedReader(""),
                               store=FileEvidenceStore(Path(tmp)), signing_key=b"eval-speed-not-a-secret-key",
                               tracker_factory=lambda cam: make_tracker("bytetrack", fps=cam.fps),
                               model_versions={"detector": "yolo", "reader": "none"})
        n = int(round(seconds * camera.fps))
        for i, (frame, frame_truth) in enumerate(SimulatedCamera(camera, seed=seed, options=options)):
            if i >= n:
                break
            truth[frame.sequence] = {v.track_id: v for v in frame_truth.vehicles}
            stage.process(frame)
            for t in stage.tracks(camera.id):
                tracks[t.key] = t  # the last snapshot of each track holds all its points
        stage.flush()
    out = []
    for t in tracks.values():
        votes: Counter[int] = Counter()
        for p in t.points:
            score, vid = max(((_iou(p.box, Box(*v.box)), v.track_id) for v in truth.get(p.sequence, {}).values()),
                             default=(0.0, -1))
            if score >= 0.3:
                votes[vid] += 1
        if not votes or votes.most_common(1)[0][1] < len(t.points) / 2:
            continue
        vid = votes.most_common(1)[0][0]
        out.append({"track": t, "vehicle": vid,
                    "speeds": {s: v[vid].speed_kmh for s, v in truth.items() if vid in v}})
    return out


def calibration(timed: list[dict], camera: Any, floors: list[float], z: float) -> dict[str, Any]:
    """Per floor: how often the lower bound and the 95 % interval hold the true speed."""
    from detection.rules import RuleSettings, Scene, measure_speed

    table: dict[str, Any] = {}
    # each floor for every class, then the shipped settings (their per-class floors) as "shipped"
    runs: list[tuple[str, RuleSettings]] = [
        (f"{floor:g}", replace(RuleSettings(), speed_box_jitter_px=floor, speed_box_jitter_px_by_class={}))
        for floor in floors
    ]
    runs.append(("shipped", RuleSettings()))
    for key, settings in runs:
        scene = Scene(camera, settings=settings)
        rows = []
        for item in timed:
            est = measure_speed(item["track"], scene)
            if est is None:
                continue
            first = est.exit_sequence - int(round(est.duration_s * camera.fps))
            true = [v for s, v in item["speeds"].items() if first <= s <= est.exit_sequence]
            if true:
                rows.append((est.speed_kmh, est.sigma_kmh, float(np.mean(true)), item["track"].vehicle_class.value))
        if not rows:
            table[key] = {"n": 0}
            continue
        measured, sigma, true_speed, classes = (np.array(c) for c in zip(*rows, strict=True))
        below = int(np.sum(measured - z * sigma <= true_speed))
        inside = int(np.sum(np.abs(measured - true_speed) <= 1.96 * sigma))
        err = np.abs(measured - true_speed)
        table[key] = {
            "n": len(rows),
            "lower_bound_holds": round(below / len(rows), 3),
            "lower_bound_holds_ci95": wilson(below, len(rows)),
            "inside_95ci": round(inside / len(rows), 3),
            "error_mean_kmh": round(float(err.mean()), 2),
            "error_p95_kmh": round(float(np.percentile(err, 95)), 2),
            "bias_kmh": round(float(np.mean(measured - true_speed)), 2),
            "sigma_median_kmh": round(float(np.median(sigma)), 2),
            "error_over_sigma_sd": round(float(np.std((measured - true_speed) / sigma)), 2),
            # a bias of one class (a bus's box ends above the road) hides in the pooled share
            "per_class": {
                cls: {
                    "n": int(mask.sum()),
                    "lower_bound_holds": round(float(np.mean(measured[mask] - z * sigma[mask] <= true_speed[mask])), 3),
                    "bias_kmh": round(float(np.mean(measured[mask] - true_speed[mask])), 2),
                    "error_mean_kmh": round(float(np.mean(err[mask])), 2),
                }
                for cls in sorted(set(classes.tolist()))
                for mask in [classes == cls]
            },
        }
    return table


@click.command(name="speed")
@click.option("--camera", "camera_id", default="sim-speed-01", show_default=True, help="A camera with a speed segment.")
@click.option("--seed", "seeds", type=int, multiple=True, required=True,
              help=f"Simulator seed (repeatable); >= {EVAL_SEED}.")
@click.option("--seconds", type=float, default=90.0, show_default=True, help="Simulated seconds per seed.")
@click.option("--speeding-rate", type=float, default=0.4, show_default=True,
              help="Share of vehicles the simulator makes speed (more fast vehicles per CPU minute).")
@click.option("--floor", "floors", type=float, multiple=True, default=(0.0, 3.0, 4.0, 6.0), show_default=True,
              help="Box-jitter floors to compare, pixels (repeatable).")
@detector_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def group(camera_id: str, seeds: tuple[int, ...], seconds: float, speeding_rate: float, floors: tuple[float, ...],
          weights: Path | None, detections_dir: Path | None, as_json: bool) -> None:
    """Measured speed against the simulator's true speed, for every vehicle timed."""
    from detection.rules import RuleSettings
    from phatnguoi.commands.eval_scenes import load_cameras, make_detector

    low = [s for s in seeds if s < EVAL_SEED]
    if low:
        raise click.BadParameter(f"seeds below {EVAL_SEED} are the detector's training scenes: {low}")
    camera = load_cameras([camera_id])[0]
    if camera.speed is None:
        raise click.BadParameter(f"camera {camera_id} has no speed segment")
    detector = make_detector(weights, detections_dir)
    timed: list[dict] = []
    for seed in seeds:
        timed += timed_vehicles(camera, seed=seed, seconds=seconds, speeding_rate=speeding_rate, detector=detector)
    result: dict[str, Any] = {"camera": camera_id, "seeds": list(seeds), "seconds": seconds,
              "weights": str(weights or "shipped"), "tracks": len(timed),
              "z": RuleSettings().speed_z, "floors": calibration(timed, camera, list(floors), RuleSettings().speed_z)}
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{len(timed)} tracks on {camera_id}, seeds {', '.join(map(str, seeds))}")
    for floor, row in result["floors"].items():
        label = "shipped (per class)" if floor == "shipped" else f"floor {floor:>4} px"
        if not row["n"]:
            click.echo(f"{label}: no vehicle timed")
            continue
        click.echo(f"{label}: n {row['n']}, lower bound holds {row['lower_bound_holds']:.1%}, "
                   f"inside 95% {row['inside_95ci']:.1%}, error mean {row['error_mean_kmh']} / p95 "
                   f"{row['error_p95_kmh']} km/h, sigma median {row['sigma_median_kmh']} km/h")
        for cls, c in row["per_class"].items():
            click.echo(f"    {cls:<10} n {c['n']:>3}, lower bound holds {c['lower_bound_holds']:.1%}, "
                       f"bias {c['bias_kmh']:+.2f} km/h")
