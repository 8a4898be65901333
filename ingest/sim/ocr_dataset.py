"""Plate-crop training sets in fast-plate-ocr's format.

``write_ocr_dataset(out, n=..., seed=...)`` writes ``out/images/*.jpg``, ``out/labels.csv``
(columns ``image_path`` relative to the CSV, ``plate_text``) and ``out/plate_config.yaml`` (the
alphabet and input size the reader is trained and run with). Sample ``i`` is drawn from
``numpy.random.default_rng([seed, i])``, so the output depends only on ``n`` and ``seed`` (not on
how many worker processes drew it).
"""

from __future__ import annotations

import csv
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ingest.sim.plate_augment import augment_plate
from ingest.sim.plates import R_SERIES_P, TWO_LETTER_P_TRAIN, random_plate

# Vehicle mix of the crops: real street crops are mostly motorbike (two-row) plates.
VEHICLE_MIX = {"motorbike": 0.55, "car": 0.3, "bus": 0.05, "truck": 0.1}

PLATE_CONFIG = {
    "max_plate_slots": 10,
    "alphabet": "0123456789ABCDEFGHKLMNPQRSTUVXYZ_",
    "pad_char": "_",
    "img_height": 64,
    "img_width": 128,
    "keep_aspect_ratio": False,
    "interpolation": "linear",
    "image_color_mode": "grayscale",
}
MAX_STORED_HEIGHT = 128


def plate_config_yaml() -> str:
    """The fast-plate-ocr plate config as YAML text."""
    lines = ["# fast-plate-ocr plate config for Vietnamese plates (written by ingest.sim.ocr_dataset)"]
    for key, value in PLATE_CONFIG.items():
        if isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f"{key}: '{value}'")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def make_sample(seed: int, index: int, two_letter_p: float = TWO_LETTER_P_TRAIN) -> tuple[np.ndarray, str]:
    """Sample ``index`` of the set drawn with ``seed``: (BGR crop, normalised plate text).
    ``two_letter_p``: share of motorbike plates with a two-letter series (``random_plate``)."""
    rng = np.random.default_rng([seed, index])
    classes = list(VEHICLE_MIX)
    vc = classes[int(rng.choice(len(classes), p=list(VEHICLE_MIX.values())))]
    plate = random_plate(rng, vc, r_series_p=R_SERIES_P, two_letter_p=two_letter_p)
    img = augment_plate(plate, rng)
    if img.shape[0] > MAX_STORED_HEIGHT:
        w = max(4, round(img.shape[1] * MAX_STORED_HEIGHT / img.shape[0]))
        img = cv2.resize(img, (w, MAX_STORED_HEIGHT), interpolation=cv2.INTER_AREA)
    return img, plate.text


def _write_chunk(args: tuple[Path, int, int, int, float]) -> list[tuple[str, str]]:
    out, seed, start, stop, two_letter_p = args
    rows = []
    for i in range(start, stop):
        img, text = make_sample(seed, i, two_letter_p)
        name = f"images/{i:07d}.jpg"
        if not cv2.imwrite(str(out / name), img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f"could not write {out / name}")
        rows.append((name, text))
    return rows


def write_ocr_dataset(out: Path, *, n: int, seed: int, workers: int | None = None,
                      two_letter_p: float = TWO_LETTER_P_TRAIN) -> Path:
    """Write ``n`` synthetic plate crops under ``out``; returns the path of ``labels.csv``.
    ``two_letter_p``: share of motorbike plates with a two-letter series (default
    ``TWO_LETTER_P_TRAIN``)."""
    if n < 1:
        raise ValueError(f"expected n >= 1, got {n}")
    if not 0.0 <= two_letter_p <= 1.0:
        raise ValueError(f"expected two_letter_p between 0 and 1, got {two_letter_p}")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    workers = workers or min(2, os.cpu_count() or 1)
    chunk = 200
    jobs = [(out, seed, s, min(n, s + chunk), two_letter_p) for s in range(0, n, chunk)]
    rows: list[tuple[str, str]] = []
    with tqdm(total=n, desc=f"plates (seed {seed})", unit="plate") as bar:
        if workers == 1:
            for job in jobs:
                rows.extend(_write_chunk(job))
                bar.update(job[3] - job[2])
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for job, got in zip(jobs, pool.map(_write_chunk, jobs), strict=True):
                    rows.extend(got)
                    bar.update(job[3] - job[2])
    labels = out / "labels.csv"
    with labels.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_path", "plate_text"])
        writer.writerows(rows)
    (out / "plate_config.yaml").write_text(plate_config_yaml())
    return labels
