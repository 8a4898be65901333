"""Measure how real plates set the serial's dot (docs/model-plate-reader.md, stage 24).

    .venv/bin/python docs/data/measure_dot_gap.py ../shared/datasets/vn-plates-real

For each two-row crop whose label has a 5-digit serial (``59T184807``) it measures the gaps either
side of the dot as a share of a normal gap (``ingest.sim.plate_measure.dot_gap_ratios``; crops
whose bottom row does not split cleanly into five digits and a dot are left out) and prints their
median and quartiles. Measures only: nothing here feeds training.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import cv2
import numpy as np

from ingest.sim.plate_measure import dot_gap_ratios


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
