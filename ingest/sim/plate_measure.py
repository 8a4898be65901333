"""Measurements of plate crops that set the generator's realism switches (docs/model-plate-reader.md).

They read real photos (``docs/data/measure_dot_gap.py``) and the generator's own renders (the
tests), so the same code measures both sides of a comparison.
"""

from __future__ import annotations

import cv2
import numpy as np


def ink_runs(ink_cols: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D mask (the columns holding ink), left to right."""
    edges = np.diff(np.r_[0, ink_cols.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def dot_gap_ratios(image: np.ndarray) -> tuple[float, float] | None:
    """The two gaps beside the serial's dot over a normal gap, for a greyscale two-row crop with a
    5-digit serial; None when its bottom row does not split cleanly into five digits and a dot.

    The bottom row's band (55-88 % of the height, 4-96 % of the width) is binarised (Otsu) and
    split into runs of columns that hold ink; six runs with a narrow fourth one (the dot) are
    measured. A normal gap is the median of the gaps 1-2, 2-3 and 5-6.
    """
    h, w = image.shape
    band = image[int(h * 0.55) : int(h * 0.88), int(w * 0.04) : int(w * 0.96)]
    ink = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1] > 0
    runs = ink_runs(ink.sum(axis=0) > 0.03 * band.shape[0])
    if len(runs) != 6:
        return None
    widths = [b - a for a, b in runs]
    if widths[3] >= 0.35 * np.median(widths):
        return None
    gaps = [runs[i + 1][0] - runs[i][1] for i in range(5)]
    normal = float(np.median([gaps[0], gaps[1], gaps[4]]))
    if normal <= 0:
        return None
    return gaps[2] / normal, gaps[3] / normal
