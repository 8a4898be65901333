"""Plate-reader speed on this CPU: plates/s at batch 1 and batched, end to end.

Times ``OnnxPlateReader.read`` / ``read_many`` (colour conversion, resize, ONNX Runtime inference,
decoding, grammar check) on synthetic photographed-looking crops, after warm-up. Prints JSON.

    .venv/bin/python bench/plate_reader.py [--n 200] [--batch 32] [--threads 2] [--model F.onnx ...]

By default it times the shipped reader as it reads (every view); ``--model`` times the given ONNX
file instead, and repeated, several read together (their probabilities averaged).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="crops to read per measurement")
    parser.add_argument("--batch", type=int, default=32, help="batch size of the batched measurement")
    parser.add_argument("--threads", type=int, default=None, help="OMP/ORT threads (default: ORT's own)")
    parser.add_argument("--model", type=Path, action="append", default=None,
                        help="reader ONNX file; repeat for several read together (default: the shipped one)")
    args = parser.parse_args()
    if args.n < 1 or args.batch < 1:
        raise SystemExit(f"expected --n and --batch >= 1, got {args.n} and {args.batch}")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    from detection.reader import OnnxPlateReader
    from ingest.sim.ocr_dataset import make_sample

    crops = [make_sample(424242, i)[0] for i in range(args.n)]
    reader = OnnxPlateReader(args.model)
    for crop in crops[:10]:
        reader.read(crop)

    started = time.perf_counter()
    for crop in crops:
        reader.read(crop)
    single = time.perf_counter() - started

    started = time.perf_counter()
    for i in range(0, len(crops), args.batch):
        reader.read_many(crops[i : i + args.batch])
    batched = time.perf_counter() - started

    print(json.dumps({
        "model": reader.version,
        "n": args.n,
        "batch1_plates_per_s": round(args.n / single, 1),
        "batch1_ms_per_plate": round(1000 * single / args.n, 3),
        f"batch{args.batch}_plates_per_s": round(args.n / batched, 1),
        f"batch{args.batch}_ms_per_plate": round(1000 * batched / args.n, 3),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
