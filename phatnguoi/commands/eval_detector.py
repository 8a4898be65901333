"""``phatnguoi eval detector``: mAP of a detector on the held-out simulator set.

The held-out set is rendered with seeds from ``EVAL_SEED`` on, which training never uses, and is
cached under ``var/datasets/`` (re-rendered only when its parameters change).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from detection.detector import CLASSES_FILE, DEFAULT_WEIGHTS, import_ultralytics
from phatnguoi.commands.train_detector import (
    CLASS_NAMES,
    DEFAULT_DATA_ROOT,
    EVAL_SEED,
    ensure_dataset,
)


def evaluate(
    *, weights: Path, data_yaml: Path, imgsz: int, batch: int = 8, threads: int = 2
) -> dict[str, Any]:
    """Run ultralytics validation and return mAP50 and mAP50-95, overall and per class."""
    os.environ["YOLO_OFFLINE"] = "1"
    import torch

    torch.set_num_threads(threads)
    YOLO = import_ultralytics().YOLO

    model = YOLO(str(weights), task="detect")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as project:
        metrics = model.val(
            data=str(data_yaml),
            split="val",
            imgsz=imgsz,
            batch=batch if str(weights).endswith(".pt") else 1,
            device="cpu",
            rect=False,  # square letterbox, as YoloDetector runs it (and as the exports must)
            plots=False,
            verbose=False,
            project=project,
            name="val",
        )
    seconds = time.perf_counter() - t0
    box = metrics.box
    per_class: dict[str, dict[str, float | int]] = {}
    for i, class_id in enumerate(box.ap_class_index):
        per_class[CLASS_NAMES.get(int(class_id), str(class_id))] = {
            "map50": round(float(box.ap50[i]), 4),
            "map50_95": round(float(box.ap[i]), 4),
            "instances": int(metrics.nt_per_class[int(class_id)]),
        }
    return {
        "map50": round(float(box.map50), 4),
        "map50_95": round(float(box.map), 4),
        "precision": round(float(box.mp), 4),
        "recall": round(float(box.mr), 4),
        "per_class": per_class,
        "ms_per_image": round(float(sum(metrics.speed.values())), 1),
        "seconds": round(seconds, 1),
    }


def _trained_imgsz(weights: Path) -> int:
    """The input size a model was trained/exported at: its ``classes.yaml`` (shipped layout) or
    ultralytics' export ``metadata.yaml``; 640 when neither says."""
    import yaml

    folder = weights if weights.is_dir() else weights.parent
    for candidate in (
        folder / "metadata.yaml",
        folder / CLASSES_FILE.name,
        folder.parent / CLASSES_FILE.name,
    ):
        if candidate.exists():
            size = (yaml.safe_load(candidate.read_text()) or {}).get("imgsz")
            if isinstance(size, list):
                size = max(size)
            if size:
                return int(size)
    return 640


def _count_images(data_dir: Path) -> int:
    return sum(1 for f in (data_dir / "images").rglob("*") if f.suffix.lower() in {".jpg", ".jpeg", ".png"})


@click.command(name="detector")
@click.option(
    "--weights",
    type=click.Path(path_type=Path, exists=True),
    default=DEFAULT_WEIGHTS,
    show_default=True,
    help="A .pt, .onnx or OpenVINO folder whose classes are the simulator's.",
)
@click.option("--n", "n", default=200, show_default=True, help="Held-out images.")
@click.option("--seed", default=EVAL_SEED, show_default=True, help=f"First held-out seed (>= {EVAL_SEED}).")
@click.option("--imgsz", type=int, default=None, help="Default: the shipped model's (classes.yaml).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--threads", default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def group(
    weights: Path, n: int, seed: int, imgsz: int | None, data_dir: Path | None, threads: int, as_json: bool
) -> None:
    """Detector mAP50 and mAP50-95 (overall and per class) on the held-out simulator set."""
    if seed < EVAL_SEED:
        raise click.BadParameter(
            f"expected a held-out --seed >= {EVAL_SEED} (training uses lower seeds), got {seed}"
        )
    if n < 1:
        raise click.BadParameter(f"expected --n >= 1, got {n}")
    imgsz = imgsz or _trained_imgsz(weights)
    data_dir = data_dir or DEFAULT_DATA_ROOT / f"detector-heldout-s{seed}-n{n}"
    data_yaml = ensure_dataset(data_dir, n=n, seed=seed, val_fraction=0.0, all_for_val=True)
    result = {
        "weights": str(weights),
        "n_images": _count_images(data_dir),
        "seed": seed,
        "imgsz": imgsz,
        **evaluate(weights=weights, data_yaml=data_yaml, imgsz=imgsz, threads=threads),
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{result['weights']}: {result['n_images']} held-out images at {imgsz} px")
    click.echo(f"{'class':<10} {'mAP50':>7} {'mAP50-95':>9} {'instances':>9}")
    click.echo(f"{'all':<10} {result['map50']:>7.3f} {result['map50_95']:>9.3f}")
    for name, row in result["per_class"].items():
        click.echo(f"{name:<10} {row['map50']:>7.3f} {row['map50_95']:>9.3f} {row['instances']:>9}")
