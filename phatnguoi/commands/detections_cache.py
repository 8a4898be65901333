"""A detector whose answers are kept on disk, for evaluations that replay the same scenes.

The detector is about 90 % of the detection stage's time (docs/rules.md). Work on the tracker,
the rules or the evaluation re-runs the same simulator scenes with the same weights again and
again: ``CachingDetector`` keeps each frame's detections in ``DIR/<weights digest>.jsonl``, keyed
by a digest of the frame's pixels, so a second run asks the real detector only for frames it has
not seen. The key is the pixels themselves: a change to the simulator or the scene's options
gives other frames, and other weights another file, so a stale answer cannot be replayed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from detection.types import Box, Detection, ObjectClass


def weights_digest(weights: Path) -> str:
    """sha256 of a weights file, or of every file of a weights folder (OpenVINO), in name order."""
    h = hashlib.sha256()
    files = sorted(p for p in weights.rglob("*") if p.is_file()) if weights.is_dir() else [weights]
    if not files:
        raise ValueError(f"expected weights at {weights}, found no file")
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def frame_key(image: np.ndarray) -> str:
    """Digest of a frame's pixels and shape."""
    h = hashlib.sha1(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


class CachingDetector:
    """``inner.detect`` with its answers kept in ``folder`` (see the module docstring).

    ``identity`` names the detector's weights (``weights_digest``); answers of other weights
    live in other files. ``hits`` and ``misses`` count this instance's look-ups."""

    def __init__(self, inner: Any, folder: Path, identity: str) -> None:
        if not identity:
            raise ValueError("expected the detector's identity (its weights digest), got nothing")
        self.inner = inner
        self.version = getattr(inner, "version", type(inner).__name__)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{identity[:32]}.jsonl"
        self._answers: dict[str, list[Detection]] = {}
        if self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    try:
                        row = json.loads(line)
                        self._answers[row["frame"]] = [_detection(d) for d in row["detections"]]
                    except (ValueError, KeyError, TypeError) as exc:
                        if line.endswith("\n"):  # a last line cut short by a killed run is redone
                            raise ValueError(f"{self.path}:{n}: expected a cached frame, got {line[:80]!r}") from exc
        self.hits = 0
        self.misses = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        key = frame_key(image)
        cached = self._answers.get(key)
        if cached is not None:
            self.hits += 1
            return list(cached)
        self.misses += 1
        found = list(self.inner.detect(image))
        self._answers[key] = found
        row = {"frame": key, "detections": [_row(d) for d in found]}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        return found


def _row(d: Detection) -> list:
    b = d.box
    return [d.cls.value, float(b.x1), float(b.y1), float(b.x2), float(b.y2), float(d.confidence)]


def _detection(row: list) -> Detection:
    cls, x1, y1, x2, y2, conf = row
    return Detection(ObjectClass(cls), Box(float(x1), float(y1), float(x2), float(y2)), float(conf))
