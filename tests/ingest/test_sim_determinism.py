"""Same seed, same bytes; another seed, other bytes; frame drops leave sequence gaps."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from ingest.camera import load_camera
from ingest.sim.camera import SimulatedCamera
from ingest.sim.scenes import CAMERAS_DIR
from ingest.sim.types import SimOptions
from ingest.types import SourceKind

CAM = CAMERAS_DIR / "sim-intersection-02.yaml"


def _run(seed: int, options: SimOptions, frames: int = 12) -> list[tuple[str, str]]:
    sim = SimulatedCamera(load_camera(CAM), seed=seed, options=options, frames=frames)
    return [(hashlib.sha256(f.jpeg).hexdigest(), t.model_dump_json()) for f, t in sim]


def test_same_seed_gives_byte_identical_frames_and_truth() -> None:
    opts = SimOptions(warmup_s=8, rain=True, glare=True, motion_blur=True)
    assert _run(11, opts) == _run(11, opts)


def test_night_run_is_deterministic_too() -> None:
    opts = SimOptions(warmup_s=5, night=True, drop_rate=0.2)
    assert _run(5, opts, 8) == _run(5, opts, 8)


def test_another_seed_gives_other_frames() -> None:
    opts = SimOptions(warmup_s=5)
    a, b = _run(1, opts, 3), _run(2, opts, 3)
    assert [x[0] for x in a] != [x[0] for x in b]


def test_frames_are_jpeg_with_camera_metadata_and_time() -> None:
    camera = load_camera(CAM)
    sim = SimulatedCamera(camera, seed=3, options=SimOptions(warmup_s=2), frames=3, start_ns=1_000_000_000)
    frames = [f for f, _ in sim]
    assert [f.sequence for f in frames] == [0, 1, 2]
    assert [f.captured_at_ns for f in frames] == [1_000_000_000, 1_100_000_000, 1_200_000_000]
    for f in frames:
        assert f.camera_id == camera.id and f.source == SourceKind.SIMULATOR
        img = cv2.imdecode(np.frombuffer(f.jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (720, 1280, 3) == (f.height, f.width, 3)


def test_dropped_frames_leave_gaps_in_the_sequence() -> None:
    sim = SimulatedCamera(load_camera(CAM), seed=4, options=SimOptions(warmup_s=0, drop_rate=0.4), frames=40)
    truths = [t for _, t in sim]
    seqs = [t.sequence for t in truths]
    assert len(seqs) < 40 and seqs == sorted(seqs)
    gaps = [b - a - 1 for a, b in zip(seqs, seqs[1:], strict=False)]
    assert any(g > 0 for g in gaps)
    assert [t.dropped_before for t in truths[1:]] == gaps


def test_judging_without_drawing_labels_the_same_violations_as_rendering() -> None:
    """``judge_only`` (statistics over many seeds) must see the traffic the rendered frames show."""
    from ingest.sim.types import ViolationRates

    opts = SimOptions(warmup_s=10, drop_rate=0.2,
                      violations=ViolationRates(red_light=0.5, wrong_lane=0.3, wrong_way=0.2))
    rendered = SimulatedCamera(load_camera(CAM), seed=21, options=opts, frames=150)
    seen = [v for _, t in rendered for v in t.violations]
    judged = SimulatedCamera(load_camera(CAM), seed=21, options=opts).judge_only(150)
    assert judged and [v.model_dump() for v in judged] == [v.model_dump() for v in rendered.violations]
    assert {(v.track_id, v.rule) for v in seen} <= {(v.track_id, v.rule) for v in judged}
