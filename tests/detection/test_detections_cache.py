"""The evaluations' detections cache: answers kept per frame and weights, replayed exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detection.types import Box, Detection, ObjectClass
from phatnguoi.commands.detections_cache import CachingDetector, frame_key, weights_digest


class CountingDetector:
    """Two detections per frame, derived from its pixels; counts its calls."""

    version = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        m = float(image.mean())
        return [
            Detection(ObjectClass.CAR, Box(m, 1.5, m + 10.25, 20.0), 0.8125),
            Detection(ObjectClass.PLATE, Box(1 / 3, 2 / 7, 40.1, 50.9), 0.333333333333),
        ]


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 255, (24, 32, 3), dtype=np.uint8) for _ in range(n)]


def test_a_second_run_replays_the_answers_exactly(tmp_path: Path) -> None:
    images = frames(3)
    first = CachingDetector(CountingDetector(), tmp_path, "a" * 64)
    computed = [first.detect(im) for im in images]
    assert (first.hits, first.misses, first.inner.calls) == (0, 3, 3)

    again = CachingDetector(CountingDetector(), tmp_path, "a" * 64)
    replayed = [again.detect(im) for im in images]
    assert replayed == computed  # floats round-trip exactly
    assert (again.hits, again.misses, again.inner.calls) == (3, 0, 0)


def test_other_weights_and_other_pixels_are_not_replayed(tmp_path: Path) -> None:
    image = frames(1)[0]
    CachingDetector(CountingDetector(), tmp_path, "a" * 64).detect(image)
    other_weights = CachingDetector(CountingDetector(), tmp_path, "b" * 64)
    other_weights.detect(image)
    assert other_weights.misses == 1 and len(list(tmp_path.glob("*.jsonl"))) == 2

    changed = image.copy()
    changed[0, 0, 0] ^= 1
    assert frame_key(changed) != frame_key(image)
    same_weights = CachingDetector(CountingDetector(), tmp_path, "a" * 64)
    same_weights.detect(changed)
    same_weights.detect(image)
    assert (same_weights.hits, same_weights.misses) == (1, 1)


def test_a_line_cut_short_by_a_killed_run_is_computed_again(tmp_path: Path) -> None:
    images = frames(2)
    cache = CachingDetector(CountingDetector(), tmp_path, "a" * 64)
    for im in images:
        cache.detect(im)
    text = cache.path.read_text()
    cache.path.write_text(text[: len(text) - 30])  # the last line lost its end (and its newline)
    again = CachingDetector(CountingDetector(), tmp_path, "a" * 64)
    for im in images:
        again.detect(im)
    assert (again.hits, again.misses) == (1, 1)


def test_a_corrupt_line_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    cache = CachingDetector(CountingDetector(), tmp_path, "a" * 64)
    cache.detect(frames(1)[0])
    cache.path.write_text('{"frame": "x", "detections": [["lorry", 1, 2, 3, 4, 0.5]]}\n' + cache.path.read_text())
    with pytest.raises(ValueError, match=r"\.jsonl:1: expected a cached frame"):
        CachingDetector(CountingDetector(), tmp_path, "a" * 64)


def test_an_identity_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="identity"):
        CachingDetector(CountingDetector(), tmp_path, "")


def test_weights_digest_of_a_file_and_of_a_folder(tmp_path: Path) -> None:
    pt = tmp_path / "w.pt"
    pt.write_bytes(b"one")
    digest = weights_digest(pt)
    pt.write_bytes(b"two")
    assert weights_digest(pt) != digest
    folder = tmp_path / "ov"
    folder.mkdir()
    with pytest.raises(ValueError, match="found no file"):
        weights_digest(folder)
    (folder / "m.xml").write_text("<xml/>")
    (folder / "m.bin").write_bytes(b"\x00")
    d1 = weights_digest(folder)
    (folder / "m.bin").write_bytes(b"\x01")
    assert weights_digest(folder) != d1


@pytest.mark.slow
def test_eval_scene_replayed_from_the_cache_scores_the_same(tmp_path: Path) -> None:
    """The real detector on a short scene, then the same scene from the cache: same events, same
    score, and the detector asked for nothing the second time."""
    from ingest.camera import load_camera
    from phatnguoi.commands.eval_scenes import CAMERA_DIR, make_detector, rule_table, run_scene
    from phatnguoi.commands.train_detector import EVAL_SEED

    camera = load_camera(CAMERA_DIR / "sim-intersection-01.yaml")
    runs = []
    for _ in range(2):
        detector = make_detector(None, tmp_path)
        run = run_scene(camera, seed=EVAL_SEED, seconds=3, tail_s=1, rates={"red_light": 0.9},
                        parts={"detector": detector})
        runs.append((run, detector))
    (first, d1), (second, d2) = runs
    assert d1.misses == first.frames == 40 and d1.hits == 0
    assert d2.hits == second.frames and d2.misses == 0
    assert rule_table(second.scored) == rule_table(first.scored)
    assert second.stage_stats == first.stage_stats and first.stage_stats["tracks"] > 0
