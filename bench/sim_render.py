"""Simulator rendering speed: frames/s at 1280x720 including JPEG encoding, on one core.

    python bench/sim_render.py [--frames 200]

Prints one JSON object. Setup (background pre-render, warm-up traffic) is timed separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from ingest.camera import load_camera  # noqa: E402
from ingest.sim.camera import SimulatedCamera  # noqa: E402
from ingest.sim.types import SimOptions  # noqa: E402

CAMERAS = Path(__file__).resolve().parents[1] / "ingest" / "cameras"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    cases = {
        "intersection-day": ("sim-intersection-02.yaml", SimOptions()),
        "intersection-night": ("sim-intersection-02.yaml", SimOptions(night=True)),
        "intersection-rain": ("sim-intersection-01.yaml", SimOptions(rain=True, motion_blur=True)),
        "speed-day": ("sim-speed-01.yaml", SimOptions()),
    }
    results = {}
    for name, (yaml_name, options) in cases.items():
        t0 = time.perf_counter()
        sim = SimulatedCamera(load_camera(CAMERAS / yaml_name), seed=1, options=options, frames=args.frames)
        it = iter(sim)
        first, truth = next(it)  # includes the warm-up simulation
        t1 = time.perf_counter()
        vehicles = len(truth.vehicles)
        n = 1
        nbytes = len(first.jpeg)
        for frame, truth in it:
            n += 1
            vehicles += len(truth.vehicles)
            nbytes += len(frame.jpeg)
        t2 = time.perf_counter()
        fps = (n - 1) / (t2 - t1)
        results[name] = {
            "camera": yaml_name,
            "frames": n,
            "setup_s": round(t1 - t0, 3),
            "fps": round(fps, 1),
            "realtime_x_at_10fps": round(fps / 10.0, 2),
            "mean_vehicles_in_truth": round(vehicles / n, 1),
            "mean_jpeg_kb": round(nbytes / n / 1024, 1),
        }
    print(
        json.dumps(
            {
                "benchmark": "sim_render",
                "resolution": "1280x720",
                "threads": 1,
                "cpu": platform.processor() or platform.machine(),
                "results": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
