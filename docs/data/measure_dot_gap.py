"""Measure how real plates set the serial's dot (docs/model-plate-reader.md, stage 24).

    .venv/bin/python docs/data/measure_dot_gap.py ../shared/datasets/vn-plates-real

For each two-row crop whose label has a 5-digit serial (``59T184807``), the bottom row's band
(55-88 % of the crop's height, 4-96 % of its width) is binarised (Otsu) and split into runs of
columns that hold ink. Crops that split into exactly six runs with a narrow fourth one (the dot)
are kept; for them it prints the gaps either side of the dot as a share of a normal gap (the
median of the gaps 1-2, 2-3 and 5-6). Measures only: nothing here feeds training.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import cv2
import numpy as np


def dot_gap_ratios(image: np.ndarray) -> tuple[float, float] | None:
    """The two gaps beside the dot over a normal gap, or None when the row does not split cleanly."""
    h, w = image.shape
    band = image[int(h * 0.55) : int(h * 0.88), int(w * 0.04) : int(w * 0.96)]
    ink = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1] > 0
    cols = ink.sum(axis=0) > 0.03 * band.shape[0]
    edges = np.diff(np.r_[0, cols.astype(np.int8), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) != 6:
        return None
    widths = stops - starts
    if widths[3] >= 0.35 * np.median(widths):
        return None
    gaps = starts[1:] - stops[:-1]
    normal = float(np.median([gaps[0], gaps[1], gaps[4]]))
    if normal <= 0:
        return None
    return gaps[2] / normal, gaps[3] / normal


def main(root: Path) -> None:
    ratios: list[float] = []
    crops = 0
    with (root / "labels.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if not re.fullmatch(r"\d\d[A-Z]\d\d{5}", row["plate_text"]):
                continue
            image = cv2.imread(str(root / row["image_path"]), cv2.IMREAD_GRAYSCALE)
            got = None if image is None else dot_gap_ratios(image)
            if got:
                crops += 1
                ratios.extend(got)
    if not ratios:
        raise SystemExit(f"no crop under {root} split into five digits and a dot")
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    print(f"{crops} crops: gap beside the dot / normal gap: median {med:.2f}, IQR {q1:.2f}-{q3:.2f}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/vn-plates-real"))
