"""``phatnguoi train detector``: train the shipped vehicle + plate detector from scratch.

Renders a simulator data set (seeds reserved for training), trains YOLO11n from its yaml (no
pretrained weights), exports ONNX and OpenVINO (both FP16), and copies the results into
``detection/models/detector/``. Long: see docs/model-detector.md for the measured duration.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from detection.detector import MODEL_DIR, SIM_CLASS_MAP, import_ultralytics
from phatnguoi.commands.options import parse_rates

#: Data-set seeds. The simulator draws every scene of a data set from one master seed; training
#: uses master seeds below EVAL_SEED, the held-out evaluation set (and the smoke tests) seeds from
#: EVAL_SEED on, so no training run can render the held-out scenes.
TRAIN_SEED = 1
EVAL_SEED = 9_000_001
DEFAULT_DATA_ROOT = Path("var/datasets")
CLASS_NAMES: dict[int, str] = {i: c.value for i, c in SIM_CLASS_MAP.items()}
#: Violation intents of the training scenes. The simulator's default sends 2 % of vehicles the
#: wrong way, so oncoming motorbikes (their fronts, their headlights at night) were rare in the
#: data, and the detector barely saw them at night (docs/rules.md); ``--rate`` overrides these.
TRAIN_RATES: dict[str, float] = {"wrong_way": 0.15, "wrong_lane": 0.1}


def check_train_seed(seed: int) -> None:
    """Refuse a training seed from the held-out range."""
    if not 0 <= seed < EVAL_SEED:
        raise click.BadParameter(
            f"expected a training --seed in 0..{EVAL_SEED - 1} "
            f"(seeds from {EVAL_SEED} are held out), got {seed}"
        )


def ensure_dataset(
    out: Path,
    *,
    n: int,
    seed: int,
    val_fraction: float,
    imgsz: int | None = None,
    all_for_val: bool = False,
    rates: dict[str, float] | None = None,
) -> Path:
    """Render the simulator's YOLO data set into ``out`` unless an identical one is already there.

    ``imgsz`` stores images already shrunk to that longer side (training would shrink them on
    every load anyway). ``rates`` sets the scenes' violation intents (simulator defaults when
    None). Returns the path of a data yaml for ultralytics. The parameters are kept
    in ``out/params.json``; a folder rendered with other parameters is re-rendered from scratch.
    """
    params: dict[str, Any] = {"n": n, "seed": seed, "val_fraction": val_fraction, "imgsz": imgsz}
    if rates:
        params["rates"] = dict(sorted(rates.items()))
    stamp = out / "params.json"
    if not (stamp.exists() and json.loads(stamp.read_text()) == params):
        from ingest.sim.dataset import write_detector_dataset
        from ingest.sim.types import ViolationRates

        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        click.echo(f"rendering {n} simulator images (seed {seed}) into {out} ...", err=True)
        t0 = time.perf_counter()
        summary = write_detector_dataset(
            out,
            n=n,
            seed=seed,
            val_fraction=val_fraction,
            imgsz=imgsz,
            violations=ViolationRates(**rates) if rates else None,
        )
        click.echo(
            f"rendered in {time.perf_counter() - t0:.0f} s: {summary.images} {summary.objects}", err=True
        )
        stamp.write_text(json.dumps(params))
    return write_data_yaml(out, all_for_val=all_for_val)


def write_data_yaml(root: Path, *, all_for_val: bool = False) -> Path:
    """An ultralytics data yaml for a rendered set: absolute path, its splits, our class names.

    ``all_for_val`` makes every image of the set a validation image (the held-out evaluation set).
    """
    root = root.resolve()
    splits = {s: f"images/{s}" for s in ("train", "val") if any((root / "images" / s).glob("*"))}
    if not splits:
        raise click.ClickException(f"{root}: expected images under images/train or images/val, found none")
    data = {
        "path": str(root),
        "train": splits.get("train", splits.get("val")),
        "val": list(splits.values()) if all_for_val else splits.get("val", splits.get("train")),
        "names": CLASS_NAMES,
    }
    path = root / "phatnguoi-data.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def export_and_ship(best: Path, out_dir: Path, *, imgsz: int, info: dict[str, Any]) -> dict[str, int]:
    """Export ``best`` to ONNX and OpenVINO (FP16) and copy all three into ``out_dir``.

    Returns the size in bytes of each shipped artefact.
    """
    YOLO = import_ultralytics().YOLO
    model = YOLO(str(best))
    onnx_path = Path(model.export(format="onnx", imgsz=imgsz, simplify=True, quantize=16, device="cpu"))
    ov_path = Path(YOLO(str(best)).export(format="openvino", imgsz=imgsz, quantize=16, device="cpu"))
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(best, out_dir / "detector.pt")
    shutil.copy2(onnx_path, out_dir / "detector.onnx")
    ov_dest = out_dir / "detector_openvino_model"
    if ov_dest.exists():
        shutil.rmtree(ov_dest)
    ov_dest.mkdir()
    for f in ov_path.iterdir():  # ultralytics names the files after the source ("best.xml"...)
        shutil.copy2(f, ov_dest / f.name.replace(best.stem, "detector", 1))
    sizes = {
        "detector.pt": (out_dir / "detector.pt").stat().st_size,
        "detector.onnx": (out_dir / "detector.onnx").stat().st_size,
        "detector_openvino_model": sum(f.stat().st_size for f in ov_dest.iterdir()),
    }
    classes = {"names": CLASS_NAMES, "imgsz": imgsz, "training": {**info, "sizes_bytes": sizes}}
    (out_dir / "classes.yaml").write_text(yaml.safe_dump(classes, sort_keys=False, allow_unicode=True))
    return sizes


@click.command(name="detector")
@click.option("--n", "n", default=800, show_default=True, help="Simulator images to render.")
@click.option("--seed", default=TRAIN_SEED, show_default=True, help="First simulator seed (training range).")
@click.option("--val-fraction", default=0.1, show_default=True, help="Share of images kept for validation.")
@click.option("--epochs", default=30, show_default=True, help="Epochs (an upper bound when --hours is set).")
@click.option(
    "--hours", type=float, default=None, help="Wall-clock budget; ultralytics fits the schedule to it."
)
@click.option("--imgsz", default=640, show_default=True)
@click.option("--batch", default=16, show_default=True)
@click.option("--workers", default=0, show_default=True, help="Data-loader workers.")
@click.option("--threads", default=2, show_default=True, help="torch CPU threads.")
@click.option("--close-mosaic", default=3, show_default=True, help="Last epochs trained without mosaic.")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="Where to render the data set."
)
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs/detector"), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=MODEL_DIR, show_default=True)
@click.option("--no-ship", is_flag=True, help="Train and export, but leave detection/models/ alone.")
@click.option("--rate", "rate_values", multiple=True, metavar="RULE=SHARE",
              help="Share of vehicles intending a violation in the training scenes "
              f"(default {', '.join(f'{k}={v:g}' for k, v in TRAIN_RATES.items())}; others: the simulator's).")
@click.option(
    "--init",
    "init",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Fine-tune from these weights (e.g. the shipped detector.pt) instead of from scratch.",
)
def group(
    n: int,
    seed: int,
    val_fraction: float,
    epochs: int,
    hours: float | None,
    imgsz: int,
    batch: int,
    workers: int,
    threads: int,
    close_mosaic: int,
    data_dir: Path | None,
    runs: Path,
    out: Path,
    no_ship: bool,
    init: Path | None,
    rate_values: tuple[str, ...],
) -> None:
    """Train the vehicle + plate detector (YOLO11n from scratch) on simulator images."""
    check_train_seed(seed)
    if not 0 < val_fraction < 1:
        raise click.BadParameter(f"expected 0 < --val-fraction < 1, got {val_fraction}")
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    YOLO = import_ultralytics().YOLO

    rates = {**TRAIN_RATES, **parse_rates(rate_values)}
    data_dir = data_dir or DEFAULT_DATA_ROOT / f"detector-train-s{seed}-n{n}"
    data_yaml = ensure_dataset(data_dir, n=n, seed=seed, val_fraction=val_fraction, imgsz=imgsz, rates=rates)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    model = YOLO(str(init)) if init else YOLO("yolo11n.yaml")
    train_args: dict[str, Any] = dict(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        workers=workers,
        device="cpu",
        # with --init the weights come from that file; ultralytics rebuilds the model from its
        # yaml and loads nothing when pretrained is False
        pretrained=str(init) if init else False,
        amp=False,
        plots=False,  # plotting would try to download a font
        project=str(runs.resolve()),
        name="train",
        exist_ok=True,
        seed=0,
        close_mosaic=close_mosaic,
        warmup_epochs=1,  # few epochs fit the CPU budget: do not spend three of them warming up
        nbs=batch,  # one optimizer step per batch (ultralytics would accumulate to 64 images)
        cache="ram",
        patience=1000,
        verbose=False,
    )
    if hours:
        train_args["time"] = hours
    model.train(**train_args)
    train_s = time.perf_counter() - t0
    trainer = model.trainer
    assert trainer is not None, "ultralytics finished training without a trainer"
    run_dir = Path(trainer.save_dir)
    best = run_dir / "weights" / "best.pt"
    epochs_done = int(trainer.epoch) + 1
    info = {
        "command": _command_line(click.get_current_context()),
        "architecture": "yolo11n.yaml (from scratch, no pretrained weights)"
        if init is None
        else f"yolo11n.yaml, fine-tuned from {init} (the project's own weights, no external ones)",
        "data": f"scene simulator (ingest.sim.dataset), {n} images, master seed {seed}, "
        f"val_fraction {val_fraction}, violation intents {rates}",
        "epochs": epochs_done,
        "imgsz": imgsz,
        "batch": batch,
        "train_seconds": round(train_s),
        "started_utc": started.isoformat(timespec="seconds"),
        "torch_threads": threads,
    }
    click.echo(json.dumps(info), err=True)
    if no_ship:
        return
    sizes = export_and_ship(best, out, imgsz=imgsz, info=info)
    click.echo(json.dumps({"shipped": str(out), "sizes_bytes": sizes, "total_mb": sum(sizes.values()) / 1e6}))


def _command_line(ctx: click.Context) -> str:
    """The exact command (options that differ from their defaults), so the run can be repeated."""
    parts = ["phatnguoi", "train", "detector"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value is False or value == () or not param.opts or value == param.default:
            continue
        parts.append(param.opts[0])
        if value is not True:
            parts.append(str(value))
    return shlex.join(parts)
