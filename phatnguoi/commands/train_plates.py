"""``phatnguoi train plates``: synthetic plates -> fast-plate-ocr training -> ONNX reader.

Runs, with progress shown: ``ingest.sim.ocr_dataset.write_ocr_dataset`` for a training and a
validation set (different seeds), fast-plate-ocr's own trainer (``fast-plate-ocr train``, CCT-XS,
Keras on TensorFlow) and its ONNX exporter; with ``--install`` the ONNX file and the plate config
replace the shipped reader in ``detection/models/plate_ocr/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click

from detection.reader import DEFAULT_CONFIG, DEFAULT_MODEL, MODEL_DIR

MODEL_CONFIG = MODEL_DIR / "cct_xs_model_config.yaml"


def _fpo(*args: str) -> list[str]:
    exe = Path(sys.executable).with_name("fast-plate-ocr")
    if not exe.is_file():
        raise click.ClickException(f"expected the fast-plate-ocr CLI beside {sys.executable}, found none")
    return [str(exe), *args]


def _run(cmd: list[str], env: dict[str, str]) -> None:
    click.echo("$ " + " ".join(cmd))
    result = subprocess.run(cmd, env=env, check=False)
    if result.returncode != 0:
        raise click.ClickException(f"{cmd[1]} failed with exit code {result.returncode}")


@click.command()
@click.option("--n", "n", default=24000, show_default=True, help="Synthetic training plates.")
@click.option("--val-n", default=1000, show_default=True, help="Synthetic validation plates.")
@click.option("--epochs", default=20, show_default=True, help="Training epochs.")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--seed", default=1, show_default=True, help="Training-set seed (validation uses seed+1).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/plate_ocr"),
              show_default=True, help="Work directory: data sets, checkpoints, exported model.")
@click.option("--install/--no-install", default=False, show_default=True,
              help="Copy the exported model over the shipped one in detection/models/plate_ocr/.")
def group(n: int, val_n: int, epochs: int, batch_size: int, seed: int, out: Path, install: bool) -> None:
    """Generate synthetic Vietnamese plates, train the plate reader and export it to ONNX."""
    from ingest.sim.ocr_dataset import write_ocr_dataset

    if n < 1 or val_n < 1 or epochs < 1:
        raise click.BadParameter(f"expected n, val-n and epochs >= 1, got {n}, {val_n}, {epochs}")
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    train_csv = write_ocr_dataset(out / "train", n=n, seed=seed)
    val_csv = write_ocr_dataset(out / "val", n=val_n, seed=seed + 1)
    plate_config = train_csv.parent / "plate_config.yaml"

    env = dict(os.environ)
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runs = out / "checkpoints"
    before = set(runs.glob("*")) if runs.exists() else set()
    _run(
        _fpo(
            "train",
            "--model-config-file", str(MODEL_CONFIG),
            "--plate-config-file", str(plate_config),
            "--annotations", str(train_csv),
            "--val-annotations", str(val_csv),
            "--epochs", str(epochs),
            "--batch-size", str(batch_size),
            "--output-dir", str(runs),
            "--seed", str(seed),
        ),
        env,
    )
    new_runs = sorted(set(runs.glob("*")) - before)
    if not new_runs or not (new_runs[-1] / "best.keras").is_file():
        raise click.ClickException(f"expected a best.keras under a new run in {runs}, found none")
    best = new_runs[-1] / "best.keras"
    _run(_fpo("export", "-m", str(best), "-f", "onnx", "--plate-config-file", str(plate_config)), env)
    onnx = best.with_suffix(".onnx")
    if not onnx.is_file():
        raise click.ClickException(f"expected the exported model at {onnx}, found none")
    click.echo(f"model: {onnx} ({onnx.stat().st_size / 1e6:.1f} MB), "
               f"{(time.monotonic() - started) / 60:.1f} min in all")
    if install:
        DEFAULT_MODEL.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(onnx, DEFAULT_MODEL)
        shutil.copy(plate_config, DEFAULT_CONFIG)
        click.echo(f"installed {DEFAULT_MODEL} and {DEFAULT_CONFIG}")
