"""Detection stage on simulated seconds, compared with the simulator's ground truth; prints JSON.

    YOLO_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/detection_stage.py \
        --camera sim-intersection-01 --seconds 20 --seed 101 [--oracle] [--night] [--rain]

``frames_per_cpu_s`` is the throughput of one core (frames over the CPU seconds the stage
used, all threads counted), with rules and evidence (originals and public copies) on.

``--oracle`` replaces the detector with the simulator's own boxes (a perfect detector): the
result then measures the tracker, signal classifier and rules alone. Without it the shipped
YOLO detector and plate reader run (CPU). A violation matches a truth violation of the same
rule when its frame is within ``--tolerance-s`` and its vehicle box overlaps the truth
vehicle's box on that frame (IoU >= 0.3).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("YOLO_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from detection.evidence_store import FileEvidenceStore  # noqa: E402
from detection.fakes import iou  # noqa: E402
from detection.pipeline import DetectionStage, StageSettings  # noqa: E402
from detection.types import Box, PlateRead, SignalPhase  # noqa: E402
from ingest.camera import load_camera  # noqa: E402
from phatnguoi.commands.eval_scenes import OracleDetector  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class Timed:
    """Wraps a part and adds up the seconds spent in one of its methods."""

    def __init__(self, inner: Any, *methods: str) -> None:
        self.inner, self.methods, self.seconds, self.calls = inner, methods, 0.0, 0
        self.version = getattr(inner, "version", type(inner).__name__)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in self.methods:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t
                self.calls += len(args[0]) if name == "read_many" else 1

        return call


class NullReader:
    version = "none"

    def read(self, crop: np.ndarray) -> PlateRead:
        return PlateRead("", (), "one-row", False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--camera", default="sim-intersection-01")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--warmup-s", type=float, default=20.0)
    ap.add_argument("--oracle", action="store_true", help="perfect detector from the ground truth")
    ap.add_argument("--no-reader", action="store_true", help="skip plate reading")
    ap.add_argument("--weights", type=Path, default=None, help="detector weights (default: shipped)")
    ap.add_argument("--reader-model", type=Path, default=None, help="plate reader ONNX (default: shipped)")
    ap.add_argument("--reader-config", type=Path, default=None, help="plate reader config yaml")
    ap.add_argument("--night", action="store_true")
    ap.add_argument("--rain", action="store_true")
    ap.add_argument("--tolerance-s", type=float, default=5.0)
    ap.add_argument(
        "--tail-s",
        type=float,
        default=3.0,
        help="frames processed after the window, so violations near its end can complete",
    )
    ap.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="RULE=SHARE",
        help="simulator's share of vehicles intending a violation, e.g. red_light=0.3",
    )
    ap.add_argument("--rules", default=None, help="comma-separated rules (default: all)")
    ap.add_argument("--evidence", type=Path, default=None, help="evidence directory (default: temporary)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    try:
        from ingest.sim import SimulatedCamera  # type: ignore[attr-defined]
    except ImportError:
        from ingest.sim.camera import SimulatedCamera
    from ingest.sim.types import SimOptions

    path = Path(args.camera)
    camera = load_camera(
        path if path.suffix == ".yaml" else REPO / "ingest" / "cameras" / f"{args.camera}.yaml"
    )
    t_load = time.perf_counter()
    if args.oracle:
        detector: Any = OracleDetector()
    else:
        from detection.detector import YoloDetector

        detector = YoloDetector(args.weights)
    if args.no_reader:
        reader: Any = NullReader()
    else:
        from detection.reader import OnnxPlateReader  # type: ignore[import-not-found,unused-ignore]

        reader = OnnxPlateReader(args.reader_model, args.reader_config)
    from detection.tracking import make_tracker

    load_s = time.perf_counter() - t_load
    timed_det, timed_reader = Timed(detector, "detect"), Timed(reader, "read", "read_many")
    evidence_dir = args.evidence or Path(tempfile.mkdtemp(prefix="evidence-"))
    stage = DetectionStage(
        {camera.id: camera},
        detector=timed_det,
        reader=timed_reader,
        store=FileEvidenceStore(evidence_dir),
        signing_key=b"bench-signing-key-not-secret",
        tracker_factory=lambda cam: make_tracker("bytetrack", fps=cam.fps),
        model_versions={"detector": str(timed_det.version), "reader": str(timed_reader.version)},
        settings=StageSettings(rules=tuple(args.rules.split(",")) if args.rules else None),
    )
    rates = {k: float(v) for k, v in (r.split("=", 1) for r in args.rate)}
    options = SimOptions(night=args.night, rain=args.rain, warmup_s=args.warmup_s)
    if rates:
        options = options.model_copy(update={"violations": options.violations.model_copy(update=rates)})
    sim = SimulatedCamera(camera, seed=args.seed, options=options)
    n_frames = int(args.seconds * camera.fps)
    n_tail = int(args.tail_s * camera.fps)

    truths: list[Any] = []
    truth_boxes: dict[int, dict[int, tuple[float, ...]]] = {}
    truth_info: dict[int, dict[int, Any]] = {}
    events = []
    track_boxes: dict[int, dict[int, Box]] = defaultdict(dict)  # local track id -> seq -> box
    phase_hits: Counter[str] = Counter()
    t_render = t_process = cpu_process = 0.0
    it = iter(sim)
    first_seq: int | None = None
    for _ in range(n_frames + n_tail):
        t = time.perf_counter()
        frame, truth = next(it)
        if first_seq is None:
            first_seq = frame.sequence
        t_render += time.perf_counter() - t
        truths.append(truth)
        truth_boxes[truth.sequence] = {v.track_id: v.box for v in truth.vehicles}
        truth_info[truth.sequence] = {v.track_id: v for v in truth.vehicles}
        if isinstance(detector, OracleDetector):
            detector.truth = truth
        t, c = time.perf_counter(), time.process_time()
        events += stage.process(frame)
        t_process += time.perf_counter() - t
        cpu_process += time.process_time() - c
        for track in stage.tracks(camera.id):
            if not track.points:
                continue
            last = track.points[-1]
            track_boxes[track.track_id][last.sequence] = last.box
        state = stage._states[camera.id]
        if truth.signal_phase is not None:
            seen = state.phases.current
            phase_hits["frames"] += 1
            phase_hits["correct"] += seen == truth.signal_phase
            phase_hits["unknown"] += seen == SignalPhase.UNKNOWN
    events += stage.flush()

    assert first_seq is not None
    end_seq = first_seq + n_frames  # truth counted inside the window; the tail lets events finish
    truth_violations = [v for tr in truths for v in tr.violations]

    def measure_error(matched: list[tuple[Any, Any]]) -> dict[str, float] | None:
        """Mean and max |measured - true| of the rule's measured value over matched pairs."""
        for name in ("speed_kmh", "seconds_since_red", "dwell_s"):
            pairs = [
                (getattr(e.measurement, name), getattr(v, name))
                for e, v in matched
                if getattr(e.measurement, name) is not None and getattr(v, name) is not None
            ]
            if pairs:
                errors = [abs(a - b) for a, b in pairs]
                return {"value": name, "mean": round(float(np.mean(errors)), 3), "max": round(max(errors), 3)}
        return None

    def overlapping(e: Any) -> dict[str, Any] | None:
        """The truth vehicle whose box best overlaps the event's vehicle on its frame."""
        ebox = track_boxes.get(e.track_id, {}).get(e.frame_sequence)
        if ebox is None:
            return None
        best = max(
            truth_info.get(e.frame_sequence, {}).values(), key=lambda v: iou(ebox, Box(*v.box)), default=None
        )
        if best is None or iou(ebox, Box(*best.box)) < 0.3:
            return None
        return {
            "track": best.track_id,
            "cls": best.cls,
            "lane": best.lane,
            "heading": best.heading,
            "speed_kmh": round(best.speed_kmh, 1),
        }

    rules = sorted({v.rule.value for v in truth_violations} | {e.rule.value for e in events})
    tol = int(args.tolerance_s * camera.fps)
    per_rule = {}
    for rule in rules:
        tv = [v for v in truth_violations if v.rule.value == rule]
        ev = [e for e in events if e.rule.value == rule]
        used: set[int] = set()
        matched = []
        for e in ev:
            ebox = track_boxes.get(e.track_id, {}).get(e.frame_sequence)
            best = None
            for i, v in enumerate(tv):
                if i in used or abs(v.frame_sequence - e.frame_sequence) > tol:
                    continue
                tbox = truth_boxes.get(e.frame_sequence, {}).get(v.track_id)
                if ebox is not None and tbox is not None and iou(ebox, Box(*tbox)) < 0.3:
                    continue
                if best is None or abs(v.frame_sequence - e.frame_sequence) < abs(
                    tv[best].frame_sequence - e.frame_sequence
                ):
                    best = i
            if best is not None:
                used.add(best)
                matched.append((e, tv[best]))
        # outside the window: a truth that was not matched, an event that matched nothing
        any_match = {id(e) for e, _ in matched}
        matched = [(e, v) for e, v in matched if v.frame_sequence < end_seq]
        in_window = {id(e) for e, _ in matched}
        in_window_match = {id(v) for _, v in matched}
        ev = [e for e in ev if id(e) in in_window or (id(e) not in any_match and e.frame_sequence < end_seq)]
        tv = [v for v in tv if v.frame_sequence < end_seq]
        missed = [v for v in tv if id(v) not in in_window_match]
        tp = len(matched)
        per_rule[rule] = {
            "truth": len(tv),
            "detected": len(ev),
            "true_positives": tp,
            "precision": round(tp / len(ev), 3) if ev else None,
            "recall": round(tp / len(tv), 3) if tv else None,
            "plate_exact": sum(e.plate_text == v.plate_text for e, v in matched),
            "measure_error": measure_error(matched),
            "plates": [
                {
                    "truth": v.plate_text,
                    "read": e.plate_text,
                    "confidence": e.plate_confidence,
                    "candidates": [(c.text, c.confidence, c.votes) for c in e.plate_candidates[:3]],
                }
                for e, v in matched
            ],
            "needs_manual_plate": sum(e.needs_manual_plate for e in ev),
            "missed": [
                {
                    "seq": v.frame_sequence,
                    "track": v.track_id,
                    "phase": v.signal_phase,
                    "since_red": v.seconds_since_red,
                }
                for v in missed
            ][:10],
            "false": [
                {
                    "seq": e.frame_sequence,
                    "since_red": e.measurement.seconds_since_red,
                    "class": e.vehicle_class,
                    "truth_vehicle": overlapping(e),
                }
                for e in ev
                if all(e is not m[0] for m in matched)
            ][:10],
        }
    print(
        json.dumps(
            {
                "camera": camera.id,
                "seed": args.seed,
                "seconds": args.seconds,
                "frames": n_frames,
                "night": args.night,
                "rain": args.rain,
                "detector": "oracle" if args.oracle else "yolo",
                "model_load_s": round(load_s, 2),
                "render_s": round(t_render, 2),
                "process_s": round(t_process, 2),
                "process_fps": round((n_frames + n_tail) / t_process, 2) if t_process else None,
                # CPU seconds of every thread of this process: frames per second of one core,
                # whatever else the machine runs at the same time
                "process_cpu_s": round(cpu_process, 2),
                "frames_per_cpu_s": round((n_frames + n_tail) / cpu_process, 2) if cpu_process else None,
                "evidence_images": sum(len(e.evidence) for e in events),
                "detect_s": round(timed_det.seconds, 2),
                "plate_reads": timed_reader.calls,
                "read_s": round(timed_reader.seconds, 2),
                "signal_phase_accuracy": round(phase_hits["correct"] / phase_hits["frames"], 3)
                if phase_hits["frames"]
                else None,
                "signal_unknown_share": round(phase_hits["unknown"] / phase_hits["frames"], 3)
                if phase_hits["frames"]
                else None,
                "stage_stats": dict(stage.stats),
                "rules": per_rule,
                "evidence_dir": str(evidence_dir),
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
