"""How well camera health (ingest/health.py) judges the simulator's cameras: every simulated
camera in plain, night and rain conditions (must stay healthy), knocked out of position and covered
(must turn moved / covered), sampled once a second as the detection worker does.

    .venv/bin/python bench/camera_health.py [--seconds 30] [--at 15] [--seed 3]

Prints one line per run (h = healthy, m = moved, c = covered, f = frozen, s = silent, one letter
per sample) and a JSON summary: false alarms before the event, and the delay to the right verdict.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from ingest.camera import load_cameras
from ingest.health import CameraHealth, Verdict
from ingest.sim.camera import SimulatedCamera
from ingest.sim.types import SimOptions

ROOT = Path(__file__).resolve().parents[1]


def run(camera, options: SimOptions, seconds: int, seed: int) -> str:  # type: ignore[no-untyped-def]
    health = CameraHealth()
    letters = []
    for frame, _truth in SimulatedCamera(camera, seed=seed, options=options, frames=seconds):
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        letters.append(health.observe(image, frame.captured_at_ns).verdict.value[0])
    return "".join(letters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--at", type=int, default=15, help="second at which the camera is knocked / covered")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    cases = {
        "plain": (SimOptions(fps=1), None),
        "night": (SimOptions(fps=1, night=True), None),
        "rain": (SimOptions(fps=1, rain=True), None),
        "knocked": (SimOptions(fps=1, knocked_at_s=args.at), Verdict.MOVED),
        "covered": (SimOptions(fps=1, covered_at_s=args.at), Verdict.COVERED),
    }
    false_alarms, samples, delays, missed = 0, 0, [], 0
    for camera_id, camera in sorted(load_cameras(ROOT / "ingest" / "cameras").items()):
        for name, (options, expected) in cases.items():
            letters = run(camera, options, args.seconds, args.seed)
            print(f"{camera_id:22s} {name:8s} {letters}")
            before = letters if expected is None else letters[: args.at]
            false_alarms += sum(1 for c in before if c != "h")
            samples += len(before)
            if expected is not None:
                after = letters[args.at:]
                hit = after.find(expected.value[0])
                if hit < 0:
                    missed += 1
                else:
                    delays.append(hit + 1)
    print(json.dumps({"healthy_samples": samples, "false_alarms": false_alarms, "events": len(delays) + missed,
                      "missed": missed, "delay_s_max": max(delays, default=None)}))


if __name__ == "__main__":
    main()
