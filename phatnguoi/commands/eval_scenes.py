"""``phatnguoi eval scenes``: the real detection stage on simulated scenes, scored against the
simulator's ground truth.

For each camera and seed the simulator renders ``--seconds`` of traffic (plus a short tail so
violations near the end can complete) and every frame goes through an in-process
``DetectionStage`` (shipped detector, tracker, plate reader, rules, evidence): no broker. The
violations it emits are matched to the simulator's truth labels (``ingest/sim/judge.py``):

* each detected track is *associated* with the truth vehicle it followed: on the frames around
  the violation, the truth vehicle whose box best overlaps the track's box (IoU >= 0.3) gets a
  vote; the most voted one wins (``associate``);
* a detected violation matches a truth violation of the same rule, of the same vehicle, close
  in time: within ``--window-s`` for the acts of an instant (red light: the stop-line crossing;
  speeding: the exit line), within ``SUSTAINED_WINDOW_S`` for acts that last (wrong way, wrong
  lane, no stopping: the truth and the stage each fire once a threshold is reached, which they
  may reach at different moments of the same act); one to one, closest in time first (``match``);
* only truth violations inside the scored window count; an event after the window counts only
  when it matches one inside it (``score``);
* the simulator warms the road up before the first frame and does not report what its judge
  labelled then: an unmatched detection of a vehicle already on the road at the first frame is
  *excused* (reported, not counted), since its label may predate the first frame; likewise an
  unmatched truth whose act the judge began counting before the first frame (a no-stopping
  dwell longer than the stream so far, a wrong-lane label within its 1 s of the start) is an
  *excused miss*.

Reported per rule: precision, recall, plate exact match per matched violation (letters and
digits only), and for speeding the error of the measured speed against the true one (mean, p95)
with the share of true speeds inside the stated 95 % interval.

Seeds below ``EVAL_SEED`` are refused: the detector's training scenes come from that range.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np

from detection.types import Box, Detection, ObjectClass, Rule, ViolationEvent
from ingest.camera import CameraConfig, load_camera
from ingest.sim.judge import WRONG_LANE_MIN_S
from phatnguoi.commands.options import detector_options, parse_rates
from phatnguoi.commands.train_detector import EVAL_SEED  # training refuses this seed and above

REPO = Path(__file__).resolve().parent.parent.parent
CAMERA_DIR = REPO / "ingest" / "cameras"
DEFAULT_CAMERAS = ("sim-intersection-01", "sim-intersection-02", "sim-speed-01")
REALISMS: dict[str, dict[str, bool]] = {"default": {}, "night": {"night": True}, "rain": {"rain": True}}
SUSTAINED_WINDOW_S = 15.0
SUSTAINED_RULES = frozenset({Rule.WRONG_WAY, Rule.WRONG_LANE, Rule.NO_STOPPING})
TARGET_PRECISION = 0.97
TARGET_RECALL = 0.95


# --- matching (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Detected:
    """One emitted violation, reduced to what scoring needs."""

    rule: Rule
    sequence: int
    vehicle: int | None  # the truth vehicle its track followed; None: no truth vehicle under it
    plate: str | None
    speed_kmh: float | None = None
    speed_uncertainty_kmh: float | None = None
    needs_manual_plate: bool = False
    violation_id: str = ""


@dataclass(frozen=True)
class Truth:
    """One truth violation from the simulator's judge."""

    rule: Rule
    sequence: int
    vehicle: int
    plate: str
    speed_kmh: float | None = None
    speed_limit_kmh: float | None = None
    # the judge counted time from before the first frame (a no-stopping dwell, wrong-lane time
    # that began in the warm-up): no stage watching the stream could have seen all of it
    before_start: bool = False


@dataclass(frozen=True)
class Scored:
    """The matching of one scene (or several) after the window rule."""

    matches: tuple[tuple[Detected, Truth], ...]
    false_positives: tuple[Detected, ...]
    misses: tuple[Truth, ...]
    excused: tuple[Detected, ...] = ()  # unmatched, of a vehicle already there at the first frame
    excused_misses: tuple[Truth, ...] = ()  # unmatched, the act began before the first frame


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def associate(
    track_boxes: Mapping[int, Box],
    truth_boxes: Mapping[int, Mapping[int, Box]],
    *,
    around: int,
    radius: int,
    min_iou: float = 0.3,
) -> int | None:
    """The truth vehicle a detected track followed near frame ``around``.

    ``track_boxes``: the track's box by frame sequence; ``truth_boxes``: sequence -> truth vehicle
    id -> box. Every frame of the track within ``radius`` frames of ``around`` votes for the truth
    vehicle overlapping it best (IoU >= ``min_iou``); ties go to the vote nearest ``around``.
    None when no frame overlaps any truth vehicle (a phantom track)."""
    votes: Counter[int] = Counter()
    nearest: dict[int, int] = {}
    for seq, box in track_boxes.items():
        if abs(seq - around) > radius:
            continue
        best, best_iou = None, min_iou
        for vid, tbox in truth_boxes.get(seq, {}).items():
            score = _iou(box, tbox)
            if score >= best_iou:
                best, best_iou = vid, score
        if best is not None:
            votes[best] += 1
            nearest[best] = min(nearest.get(best, 1 << 30), abs(seq - around))
    if not votes:
        return None
    return max(votes, key=lambda v: (votes[v], -nearest[v]))


def match(
    detected: Sequence[Detected], truths: Sequence[Truth], *, window: int | Mapping[Rule, int]
) -> tuple[list[tuple[Detected, Truth]], list[Detected], list[Truth]]:
    """One-to-one matching: same rule, same vehicle, frames at most ``window`` apart (one number,
    or one per rule); the pairs closest in time are taken first. Returns (matches, unmatched
    detections, unmatched truths)."""

    def limit(rule: Rule) -> int:
        return window if isinstance(window, int) else window[rule]

    pairs = sorted(
        (
            (abs(d.sequence - t.sequence), i, j)
            for i, d in enumerate(detected)
            for j, t in enumerate(truths)
            if d.rule == t.rule
            and d.vehicle is not None
            and d.vehicle == t.vehicle
            and abs(d.sequence - t.sequence) <= limit(d.rule)
        ),
    )
    used_d: set[int] = set()
    used_t: set[int] = set()
    matches = []
    for _, i, j in pairs:
        if i in used_d or j in used_t:
            continue
        used_d.add(i)
        used_t.add(j)
        matches.append((detected[i], truths[j]))
    return (
        matches,
        [d for i, d in enumerate(detected) if i not in used_d],
        [t for j, t in enumerate(truths) if j not in used_t],
    )


def score(
    detected: Sequence[Detected],
    truths: Sequence[Truth],
    *,
    window: int | Mapping[Rule, int],
    end: int,
    present_at_start: frozenset[int] = frozenset(),
) -> Scored:
    """Match, then keep what the window ``[.., end)`` decides: truths before ``end`` (and the
    detections matched to them), and unmatched detections before ``end``. A detection after
    ``end`` that matched a truth after it is neither counted for nor against. An unmatched
    detection of a vehicle in ``present_at_start`` is excused (its label may predate the run), and
    so is an unmatched truth whose act began before the first frame (``Truth.before_start``)."""
    matches, false_pos, misses = match(detected, truths, window=window)
    false_pos = [d for d in false_pos if d.sequence < end]
    misses = [t for t in misses if t.sequence < end]
    return Scored(
        matches=tuple((d, t) for d, t in matches if t.sequence < end),
        false_positives=tuple(d for d in false_pos if d.vehicle is None or d.vehicle not in present_at_start),
        misses=tuple(t for t in misses if not t.before_start),
        excused=tuple(d for d in false_pos if d.vehicle is not None and d.vehicle in present_at_start),
        excused_misses=tuple(t for t in misses if t.before_start),
    )


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """95 % Wilson interval of a proportion k/n: how far a small sample lets one trust it."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(float(centre - half), 3), round(float(centre + half), 3))


def speed_errors(matches: Iterable[tuple[Detected, Truth]]) -> dict[str, float | int] | None:
    """|measured - true| speed over the matched pairs that have both, with the share of true
    speeds inside the stated two-sided 95 % interval (measured ± 1.96 sigma)."""
    rows = [
        (d.speed_kmh, t.speed_kmh, d.speed_uncertainty_kmh)
        for d, t in matches
        if d.speed_kmh is not None and t.speed_kmh is not None
    ]
    if not rows:
        return None
    errors = np.array([abs(m - t) for m, t, _ in rows])
    signed = np.array([m - t for m, t, _ in rows])
    inside = [abs(m - t) <= 1.96 * (s or 0.0) for m, t, s in rows]
    return {
        "n": len(rows),
        "mean_kmh": round(float(errors.mean()), 2),
        "p95_kmh": round(float(np.percentile(errors, 95)), 2),
        "bias_kmh": round(float(signed.mean()), 2),
        "within_95ci": round(sum(inside) / len(rows), 3),
    }


#: True excess over the limit (km/h) by which speeding recall is broken down: the fine table's
#: first bracket, where the measured 95 % lower bound often cannot prove the 5 km/h, and beyond.
EXCESS_BANDS: tuple[tuple[str, float, float], ...] = (("5-<10", 5, 10), ("10-20", 10, 20), (">20", 20, float("inf")))


def recall_by_excess(matches: Iterable[tuple[Detected, Truth]], misses: Iterable[Truth]) -> dict[str, dict[str, Any]]:
    """Speeding recall per band of the true excess over the limit (``EXCESS_BANDS``): a speeder
    just over the fine table's threshold is only caught when its speed is measured tightly enough
    to prove it (docs/rules.md, "Speed and its uncertainty"), a clear speeder always should be."""
    found = [(t, True) for _, t in matches] + [(t, False) for t in misses]
    bands: dict[str, dict[str, Any]] = {}
    for name, lo, hi in EXCESS_BANDS:
        hits = [ok for t, ok in found if t.speed_kmh is not None and t.speed_limit_kmh is not None
                and lo <= t.speed_kmh - t.speed_limit_kmh < hi]
        bands[name] = {"truth": len(hits), "found": sum(hits), "recall": _ratio(sum(hits), len(hits)),
                       "recall_ci95": wilson(sum(hits), len(hits))}
    return bands


def _plain(text: str | None) -> str:
    return "".join(c for c in (text or "") if c.isalnum()).upper()


def rule_table(scored: Scored) -> dict[str, dict[str, Any]]:
    """Per-rule figures of a (combined) scoring."""
    rules = sorted(
        {d.rule for d, _ in scored.matches} | {d.rule for d in scored.false_positives} | {t.rule for t in scored.misses}
    )
    table: dict[str, dict[str, Any]] = {}
    for rule in rules:
        m = [(d, t) for d, t in scored.matches if d.rule == rule]
        fp = [d for d in scored.false_positives if d.rule == rule]
        miss = [t for t in scored.misses if t.rule == rule]
        tp = len(m)
        plate_exact = sum(_plain(d.plate) == _plain(t.plate) for d, t in m)
        row: dict[str, Any] = {
            "truth": tp + len(miss),
            "detected": tp + len(fp),
            "true_positives": tp,
            "precision": _ratio(tp, tp + len(fp)),
            "recall": _ratio(tp, tp + len(miss)),
            "precision_ci95": wilson(tp, tp + len(fp)),
            "recall_ci95": wilson(tp, tp + len(miss)),
            "plate_exact": plate_exact,
            "plate_exact_share": _ratio(plate_exact, tp),
            "needs_manual_plate": sum(d.needs_manual_plate for d, _ in m) + sum(d.needs_manual_plate for d in fp),
        }
        if rule == Rule.SPEEDING:
            row["speed_error"] = speed_errors(m)
            row["recall_by_excess"] = recall_by_excess(m, miss)
        row["excused"] = sum(d.rule == rule for d in scored.excused)
        row["excused_misses"] = sum(t.rule == rule for t in scored.excused_misses)
        table[rule.value] = row
    return table


def combine(parts: Iterable[Scored]) -> Scored:
    matches: list[tuple[Detected, Truth]] = []
    fps: list[Detected] = []
    misses: list[Truth] = []
    excused: list[Detected] = []
    excused_misses: list[Truth] = []
    for p in parts:
        matches += p.matches
        fps += p.false_positives
        misses += p.misses
        excused += p.excused
        excused_misses += p.excused_misses
    return Scored(tuple(matches), tuple(fps), tuple(misses), tuple(excused), tuple(excused_misses))


# --- running a scene ----------------------------------------------------------------------------


class OracleDetector:
    """The simulator's truth as detections (vehicles at least 30 % visible, plates 50 %): with it
    the figures measure the tracker, the signal classifier, the rules and the plate reader."""

    version = "oracle"

    def __init__(self) -> None:
        self.truth: Any = None

    def detect(self, image: np.ndarray) -> list[Detection]:
        out = []
        for v in self.truth.vehicles:
            if v.visible_fraction >= 0.3:
                out.append(Detection(ObjectClass(v.cls.value), Box(*v.box), 0.9))
            if v.plate_box is not None and v.plate_visible_fraction >= 0.5:
                out.append(Detection(ObjectClass.PLATE, Box(*v.plate_box), 0.8))
        return out


@dataclass
class SceneRun:
    camera_id: str
    seed: int
    frames: int
    process_s: float
    scored: Scored
    stage_stats: dict[str, int] = field(default_factory=dict)


def began_before_start(rule: Rule, dwell_s: float | None, seen_s: float) -> bool:
    """Did the judge count time from before the first frame? ``seen_s``: the stream's length up
    to the label. A no-stopping label whose dwell is longer, or a wrong-lane label sooner than
    the judge's own minimum time in the lane: the warm-up held part of the act."""
    if rule == Rule.NO_STOPPING and dwell_s is not None:
        return dwell_s > seen_s
    if rule == Rule.WRONG_LANE:
        return seen_s < WRONG_LANE_MIN_S
    return False


def _detected(
    event: ViolationEvent,
    track_boxes: Mapping[int, Mapping[int, Box]],
    truth_boxes: Mapping[int, Mapping[int, Box]],
    radius: int,
) -> Detected:
    m = event.measurement
    return Detected(
        rule=event.rule,
        sequence=event.frame_sequence,
        vehicle=associate(
            track_boxes.get(event.track_id, {}), truth_boxes, around=event.frame_sequence, radius=radius
        ),
        plate=event.plate_text,
        speed_kmh=m.speed_kmh,
        speed_uncertainty_kmh=m.speed_uncertainty_kmh,
        needs_manual_plate=event.needs_manual_plate,
        violation_id=event.violation_id,
    )


def run_scene(
    camera: CameraConfig,
    *,
    seed: int,
    seconds: float,
    realism: str = "default",
    oracle: bool = False,
    rates: Mapping[str, float] | None = None,
    window_s: float = 3.0,
    tail_s: float = 4.0,
    warmup_s: float = 20.0,
    evidence_dir: Path | None = None,
    tick: Callable[[int], None] | None = None,
    parts: Mapping[str, Any] | None = None,
    sim_options: Mapping[str, Any] | None = None,
) -> SceneRun:
    """Render ``seconds`` (+ ``tail_s``) of ``camera`` with ``seed``, run the stage, score it.

    ``parts`` may hold a ready ``detector`` and ``reader`` (loaded once for many scenes);
    ``sim_options`` overrides simulator options (e.g. the signal plan)."""
    from detection.evidence_store import FileEvidenceStore
    from detection.pipeline import DetectionStage
    from detection.tracking import make_tracker
    from ingest.sim.camera import SimulatedCamera
    from ingest.sim.types import SimOptions

    parts = dict(parts or {})
    detector: Any = OracleDetector() if oracle else parts.get("detector")
    reader: Any = parts.get("reader")
    if detector is None:
        from detection.detector import YoloDetector

        detector = YoloDetector()
    if reader is None:
        from detection.reader import OnnxPlateReader  # type: ignore[import-not-found,unused-ignore]

        reader = OnnxPlateReader()
    with tempfile.TemporaryDirectory(prefix="eval-evidence-") as tmp:
        stage = DetectionStage(
            {camera.id: camera},
            detector=detector,
            reader=reader,
            store=FileEvidenceStore(evidence_dir or Path(tmp)),
            signing_key=b"eval-signing-key-not-secret",
            tracker_factory=lambda cam: make_tracker("bytetrack", fps=cam.fps),
            model_versions={
                "detector": str(getattr(detector, "version", type(detector).__name__)),
                "reader": str(getattr(reader, "version", type(reader).__name__)),
            },
        )
        options = SimOptions(warmup_s=warmup_s).model_copy(update={**REALISMS[realism], **dict(sim_options or {})})
        if rates:
            options = options.with_rates(rates)
        sim = SimulatedCamera(camera, seed=seed, options=options)
        n_frames = int(round(seconds * camera.fps))
        n_tail = int(round(tail_s * camera.fps))
        truth_boxes: dict[int, dict[int, Box]] = {}
        track_boxes: dict[int, dict[int, Box]] = defaultdict(dict)
        truths: list[Truth] = []
        events: list[ViolationEvent] = []
        process_s = 0.0
        first: int | None = None
        present: frozenset[int] = frozenset()
        for i, (frame, truth) in enumerate(sim):
            if i >= n_frames + n_tail:
                break
            if first is None:
                first, present = frame.sequence, frozenset(v.track_id for v in truth.vehicles)
            truth_boxes[truth.sequence] = {v.track_id: Box(*v.box) for v in truth.vehicles}
            truths += [
                Truth(
                    v.rule,
                    v.frame_sequence,
                    v.track_id,
                    v.plate_text,
                    v.speed_kmh,
                    v.speed_limit_kmh,
                    before_start=began_before_start(v.rule, v.dwell_s, (v.frame_sequence - first + 1) / camera.fps),
                )
                for v in truth.violations
            ]
            if isinstance(detector, OracleDetector):
                detector.truth = truth
            t = time.perf_counter()
            events += stage.process(frame)
            process_s += time.perf_counter() - t
            for track in stage.tracks(camera.id):
                if track.points and track.points[-1].sequence == frame.sequence:
                    track_boxes[track.track_id][frame.sequence] = track.points[-1].box
            if tick is not None:
                tick(1)
        t = time.perf_counter()
        events += stage.flush()
        process_s += time.perf_counter() - t
    assert first is not None
    fps = camera.fps
    radius = max(1, int(round(1.0 * fps)))
    detected = [_detected(e, track_boxes, truth_boxes, radius) for e in events]
    windows = {
        rule: int(round((SUSTAINED_WINDOW_S if rule in SUSTAINED_RULES else window_s) * fps)) for rule in Rule
    }
    scored = score(detected, truths, window=windows, end=first + n_frames, present_at_start=present)
    return SceneRun(camera.id, seed, n_frames + n_tail, process_s, scored, dict(stage.stats))


def evaluate(
    cameras: Sequence[CameraConfig],
    seeds: Sequence[int],
    *,
    seconds: float,
    realism: str,
    oracle: bool = False,
    rates: Mapping[str, float] | None = None,
    window_s: float = 3.0,
    progress: bool = True,
    weights: Path | None = None,
    detections_dir: Path | None = None,
) -> dict[str, Any]:
    """Every camera x seed; the per-rule table over all of them plus a row per scene.

    ``weights``: the detector (default: the shipped one); ``detections_dir`` keeps its answers
    per frame for the next run of the same scenes (``CachingDetector``)."""
    parts: dict[str, Any] = {}
    if not oracle:
        parts["detector"] = make_detector(weights, detections_dir)
    from detection.reader import OnnxPlateReader  # type: ignore[import-not-found,unused-ignore]

    parts["reader"] = OnnxPlateReader()
    runs: list[SceneRun] = []
    total = sum(int(round((seconds + 4.0) * c.fps)) for c in cameras) * len(seeds)
    with click.progressbar(
        length=total, label=f"eval scenes ({realism})", file=sys.stderr if progress else open(os.devnull, "w")
    ) as bar:
        for camera in cameras:
            for seed in seeds:
                runs.append(
                    run_scene(
                        camera,
                        seed=seed,
                        seconds=seconds,
                        realism=realism,
                        oracle=oracle,
                        rates=rates,
                        window_s=window_s,
                        tick=bar.update,
                        parts=parts,
                    )
                )
    frames = sum(r.frames for r in runs)
    process_s = sum(r.process_s for r in runs)
    table = rule_table(combine(r.scored for r in runs))
    return {
        "cameras": [c.id for c in cameras],
        "seeds": list(seeds),
        "seconds": seconds,
        "realism": realism,
        "detector": "oracle" if oracle else "yolo",
        "weights": None if oracle else str(weights or "shipped"),
        **_cache_counts(parts.get("detector")),
        "rates": dict(rates or {}),
        "window_s": window_s,
        "frames": frames,
        "process_fps": round(frames / process_s, 2) if process_s else None,
        "targets": {"precision": TARGET_PRECISION, "recall": TARGET_RECALL},
        "rules": table,
        "below_target": sorted(
            rule
            for rule, row in table.items()
            if (row["precision"] is not None and row["precision"] < TARGET_PRECISION)
            or (row["recall"] is not None and row["recall"] < TARGET_RECALL)
        ),
        "scenes": [
            {
                "camera": r.camera_id,
                "seed": r.seed,
                "rules": rule_table(r.scored),
                "false": [asdict(d) for d in r.scored.false_positives][:10],
                "missed": [asdict(t) for t in r.scored.misses][:10],
                "excused": [asdict(d) for d in r.scored.excused][:10],
            }
            for r in runs
        ],
    }


def load_cameras(camera_ids: Sequence[str]) -> list[CameraConfig]:
    """Camera files by id (``ingest/cameras/<id>.yaml``) or path; an unknown id names the known ones."""
    cameras = []
    for cid in camera_ids:
        path = Path(cid) if cid.endswith(".yaml") else CAMERA_DIR / f"{cid}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in CAMERA_DIR.glob("*.yaml")))
            raise click.BadParameter(f"unknown camera {cid!r}; known cameras: {known}")
        cameras.append(load_camera(path))
    return cameras


def _cache_counts(detector: Any) -> dict[str, int]:
    """Frames answered from the detections cache and by the detector, where a cache is used."""
    if not hasattr(detector, "hits"):
        return {}
    return {"detections_replayed": detector.hits, "detections_computed": detector.misses}


def make_detector(weights: Path | None = None, detections_dir: Path | None = None) -> Any:
    """The YOLO detector of ``weights`` (default: the shipped one), its answers kept in
    ``detections_dir`` when one is given."""
    from detection.detector import YoloDetector
    from phatnguoi.commands.detections_cache import CachingDetector, weights_digest

    detector = YoloDetector(weights)
    if detections_dir is None:
        return detector
    return CachingDetector(detector, detections_dir, weights_digest(detector.weights))


@click.command(name="scenes")
@click.option("--seconds", type=float, default=60.0, show_default=True, help="Scored simulated seconds per scene.")
@click.option("--seed", "seeds", type=int, multiple=True, default=(EVAL_SEED,), show_default=True,
              help=f"Simulator seed (repeatable); >= {EVAL_SEED}, never a training seed.")
@click.option("--camera", "camera_ids", multiple=True,
              help="Camera id in ingest/cameras/ or a YAML path (repeatable). Default: the three sim cameras.")
@click.option("--realism", type=click.Choice(list(REALISMS)), default="default", show_default=True)
@click.option("--oracle", is_flag=True, help="Perfect detector from the simulator's boxes (isolates the rules).")
@click.option("--rate", "rate_values", multiple=True, metavar="RULE=SHARE",
              help="Share of vehicles intending a violation, e.g. wrong_way=0.2 (simulator default otherwise).")
@click.option("--window-s", type=float, default=3.0, show_default=True,
              help=f"Match window for red light and speeding, seconds (sustained acts: {SUSTAINED_WINDOW_S:g} s).")
@detector_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def group(
    seconds: float,
    seeds: tuple[int, ...],
    camera_ids: tuple[str, ...],
    realism: str,
    oracle: bool,
    rate_values: tuple[str, ...],
    window_s: float,
    weights: Path | None,
    detections_dir: Path | None,
    as_json: bool,
) -> None:
    """Per-rule precision/recall, plate exact match and speed error of the detection stage on
    simulated scenes (seeds never used in training)."""
    if seconds <= 0:
        raise click.BadParameter(f"expected --seconds > 0, got {seconds}")
    for seed in seeds:
        if seed < EVAL_SEED:
            raise click.BadParameter(
                f"expected a held-out --seed >= {EVAL_SEED} (training renders lower seeds), got {seed}"
            )
    cameras = load_cameras(camera_ids or DEFAULT_CAMERAS)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    result = evaluate(
        cameras, seeds, seconds=seconds, realism=realism, oracle=oracle, rates=parse_rates(rate_values),
        window_s=window_s, weights=weights, detections_dir=detections_dir,
    )
    if as_json:
        click.echo(json.dumps(result, default=str))
        return
    click.echo(
        f"{result['realism']} realism, {result['detector']} detector, cameras {', '.join(result['cameras'])}, "
        f"seeds {', '.join(map(str, result['seeds']))}, {seconds:g} s each ({result['process_fps']} frames/s)"
    )
    click.echo(f"{'rule':<12} {'truth':>5} {'det':>5} {'tp':>4} {'prec':>6} {'recall':>6} {'plate':>6}")
    for rule, row in result["rules"].items():
        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.3f}"

        click.echo(
            f"{rule:<12} {row['truth']:>5} {row['detected']:>5} {row['true_positives']:>4} "
            f"{fmt(row['precision']):>6} {fmt(row['recall']):>6} {fmt(row['plate_exact_share']):>6}"
        )
        if row.get("speed_error"):
            se = row["speed_error"]
            click.echo(f"{'':<12} speed error mean {se['mean_kmh']} km/h, p95 {se['p95_kmh']} km/h (n={se['n']})")
        if row.get("recall_by_excess"):
            bands = ", ".join(f"{k} over {v['found']}/{v['truth']}" for k, v in row["recall_by_excess"].items())
            click.echo(f"{'':<12} found by true excess: {bands}")
