"""End-to-end benchmark of the demo configuration.

Runs ``phatnguoi demo --for SECONDS --report`` in a fresh state folder (embedded broker, SQLite,
simulated cameras paced to real time), then reads the cases it made. Prints one JSON object:
frames/s through detection, frame-to-case latency (case created - frame captured, p50/p95; this
includes the wait for the evidence frames after the violation), violations, cases, and each
worker's peak resident memory.

    .venv/bin/python bench/end_to_end.py --seconds 120 [--cameras 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--cameras", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="phatnguoi-bench-") as tmp:
        var = Path(tmp)
        env = {**os.environ, "PHATNGUOI_VAR_DIR": str(var), "YOLO_OFFLINE": "1"}
        env.pop("PHATNGUOI_DATABASE_URL", None)
        cmd = [sys.executable, "-m", "phatnguoi.cli", "demo", "--for", str(args.seconds), "--report",
               "--cameras", str(args.cameras), "--port", str(free_port())]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.seconds + 300)
        if done.returncode != 0:
            sys.exit(f"demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])

        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{var / 'phatnguoi.db'}")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT occurred_at, created_at FROM cases")).all()
        from datetime import datetime

        def parse(v: object) -> datetime:
            return v if isinstance(v, datetime) else datetime.fromisoformat(str(v))

        latencies = [(parse(c) - parse(o)).total_seconds() for o, c in rows]
    seconds = report.get("seconds") or args.seconds
    print(json.dumps({
        "cameras": args.cameras,
        "seconds": seconds,
        "frames_produced": report["frames_produced"],
        "frames_processed": report["frames_processed"],
        "frames_per_s_processed": round(report["frames_processed"] / seconds, 2),
        "violations": report["violations"],
        "cases": report["cases"],
        "dead_lettered": report["dead_lettered"],
        "frame_to_case_latency_s": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
                                    "mean": round(statistics.mean(latencies), 3) if latencies else None,
                                    "n": len(latencies)},
        "peak_rss_mb": report["peak_rss_mb"],
        "peak_rss_mb_total": round(sum(report["peak_rss_mb"].values()), 1),
    }))


if __name__ == "__main__":
    main()
