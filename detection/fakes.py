"""Stand-ins for the model-backed parts, for component tests and model-free runs.

* ``ScriptedDetector`` answers from a script keyed by frame number (the order of ``detect``
  calls), so a test can draw a scene and say exactly what a perfect detector would see.
* ``IouTracker`` is a small, real, deterministic tracker (greedy IoU matching); it is what
  ``ByteTrack`` does on clean detections, without the Kalman filter.
* ``ScriptedReader`` returns a given read, or one chosen by a function of the crop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from cases.plates import is_valid
from detection.types import Box, Detection, ObjectClass, PlateRead


class ScriptedDetector:
    def __init__(
        self, script: Mapping[int, Sequence[Detection]] | Callable[[int], Sequence[Detection]]
    ) -> None:
        self._script = script
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        n = self.calls
        self.calls += 1
        if callable(self._script):
            return list(self._script(n))
        return list(self._script.get(n, ()))


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


class IouTracker:
    """Greedy IoU tracker: each detection joins the unmatched track it overlaps most (at least
    ``min_iou``); tracks unseen for ``max_age`` updates are dropped. Ids start at 1."""

    def __init__(self, *, min_iou: float = 0.2, max_age: int = 10) -> None:
        self.min_iou = min_iou
        self.max_age = max_age
        self._tracks: dict[int, tuple[Box, int]] = {}  # id -> (last box, age)
        self._next = 1

    def update(self, detections: list[Detection], image: np.ndarray) -> list[Detection]:
        out: list[Detection] = []
        free = dict(self._tracks)
        order = sorted((d for d in detections if d.cls != ObjectClass.PLATE), key=lambda d: -d.confidence)
        for d in order:
            best = max(free, key=lambda k: iou(free[k][0], d.box), default=None)
            if best is None or iou(free[best][0], d.box) < self.min_iou:
                best = self._next
                self._next += 1
            else:
                del free[best]
            self._tracks[best] = (d.box, 0)
            out.append(replace(d, track_id=best))
        for k, (box, age) in free.items():
            if age + 1 > self.max_age:
                del self._tracks[k]
            else:
                self._tracks[k] = (box, age + 1)
        return out


class ScriptedReader:
    def __init__(self, answer: str | Callable[[np.ndarray], PlateRead], confidence: float = 0.95) -> None:
        self._answer = answer
        self.confidence = confidence
        self.calls = 0

    def read(self, crop: np.ndarray) -> PlateRead:
        self.calls += 1
        if callable(self._answer):
            return self._answer(crop)
        text = self._answer
        return PlateRead(text, (self.confidence,) * len(text), "one-row", is_valid(text))

    def read_many(self, crops: Sequence[np.ndarray]) -> list[PlateRead]:
        return [self.read(c) for c in crops]
