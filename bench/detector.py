"""Detector speed on this CPU: ms per frame at 640 and 416 px for PyTorch, ONNX Runtime, OpenVINO.

Times ``YoloDetector.detect`` end to end (pre-processing, inference, NMS, adapter) on one
simulator frame, after warm-up, with a fixed number of CPU threads. At the shipped size (640) the
shipped ONNX and OpenVINO files are timed; for other sizes they are exported from ``detector.pt``
(FP16 weights, as shipped) in a temporary folder, which needs the ``train`` extra (onnx).

    YOLO_OFFLINE=1 .venv/bin/python bench/detector.py [--threads 2] [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _frame(path: Path | None) -> np.ndarray:
    """The frame to time: ``path`` if given, else one freshly rendered simulator frame."""
    if path is not None:
        image = cv2.imread(str(path))
        if image is None:
            raise SystemExit(f"--image: cannot read {path}")
        return image
    from ingest.sim.dataset import write_detector_dataset

    with tempfile.TemporaryDirectory() as tmp:
        write_detector_dataset(Path(tmp), n=1, seed=9_999_999, val_fraction=0.0)
        found = sorted(p for p in Path(tmp).rglob("*") if p.suffix.lower() in {".jpg", ".png"})
        if not found:
            raise SystemExit("the simulator wrote no image")
        image = cv2.imread(str(found[0]))
        if image is None:
            raise SystemExit(f"cannot read the rendered frame {found[0]}")
        return image


def _time(detector: object, image: np.ndarray, runs: int) -> tuple[float, float, int]:
    for _ in range(3):
        detector.detect(image)  # type: ignore[attr-defined]
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        found = detector.detect(image)  # type: ignore[attr-defined]
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), min(samples), len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sizes", default="640,416")
    parser.add_argument("--image", type=Path, default=None)
    parser.add_argument(
        "--weights", type=Path, default=None, help="A .pt to time (default: the shipped one)."
    )
    parser.add_argument("--json", action="store_true", help="One JSON object instead of a markdown table.")
    args = parser.parse_args()

    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_VERBOSE", "False")  # keep export chatter out of the table
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    import yaml

    from detection.detector import (
        CLASSES_FILE,
        DEFAULT_WEIGHTS,
        SHIPPED,
        SIM_CLASS_MAP,
        YoloDetector,
        import_ultralytics,
    )

    # the shipped exports have this input size: timed as shipped; other sizes are exported here
    SHIPPED_IMGSZ = int((yaml.safe_load(CLASSES_FILE.read_text()) or {}).get("imgsz", 640))

    YOLO = import_ultralytics().YOLO

    image = _frame(args.image)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            work = Path(tmp) / str(size)
            work.mkdir()
            pt = work / "detector.pt"
            pt.write_bytes((args.weights or DEFAULT_WEIGHTS).read_bytes())
            if args.weights is None and size == SHIPPED_IMGSZ:
                # the files the repository ships, as a worker loads them
                onnx, ov = SHIPPED["onnx"], SHIPPED["openvino"]
            else:
                try:
                    import onnx as _onnx  # noqa: F401  (ultralytics' ONNX export needs it)
                except ImportError:
                    raise SystemExit(
                        f"exporting the detector at {size} px needs the onnx package: "
                        "`.venv/bin/pip install -e '.[train]'` (or time only the shipped size: --sizes "
                        f"{SHIPPED_IMGSZ})"
                    ) from None
                onnx = Path(
                    YOLO(str(pt)).export(format="onnx", imgsz=size, simplify=True, quantize=16, device="cpu")
                )
                ov = Path(YOLO(str(pt)).export(format="openvino", imgsz=size, quantize=16, device="cpu"))
            for backend, weights in (("pytorch", pt), ("onnxruntime", onnx), ("openvino", ov)):
                detector = YoloDetector(weights, imgsz=size, class_map=SIM_CLASS_MAP)
                median, best, n = _time(detector, image, args.runs)
                rows.append(
                    {
                        "backend": backend,
                        "imgsz": size,
                        "ms_median": round(median, 1),
                        "ms_min": round(best, 1),
                        "detections": n,
                    }
                )
    result = {
        "frame": f"{image.shape[1]}x{image.shape[0]}",
        "threads": args.threads,
        "runs": args.runs,
        "cpu": platform.processor() or platform.machine(),
        "rows": rows,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"Detector ms/frame ({result['frame']} frame, {args.threads} threads, median of {args.runs})\n")
    print("| backend | " + " | ".join(f"{s} px" for s in args.sizes.split(",")) + " |")
    print("|---|" + "---:|" * len(args.sizes.split(",")))
    for backend in ("pytorch", "onnxruntime", "openvino"):
        cells = [f"{r['ms_median']:.1f}" for r in rows if r["backend"] == backend]
        print(f"| {backend} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
