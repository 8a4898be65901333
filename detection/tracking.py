"""Multi-object tracking of vehicles with ultralytics' own trackers (ByteTrack, BoT-SORT).

One :class:`Tracker` per camera. It is fed the project's :class:`Detection` objects (from any
:class:`detection.detector.Detector`), so tracking works the same for the shipped model, a COCO
model or a fake; ultralytics types never leave this module.

Only vehicles are tracked; plates are passed through untracked (``track_id=None``): a plate is
attached to its vehicle by position downstream.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import yaml

from detection.detector import check_image, import_ultralytics
from detection.types import Detection, ObjectClass

VEHICLES: tuple[ObjectClass, ...] = (
    ObjectClass.MOTORBIKE,
    ObjectClass.CAR,
    ObjectClass.BUS,
    ObjectClass.TRUCK,
)
_CLASS_IDS = {c: i for i, c in enumerate(VEHICLES)}

#: kind -> the ultralytics tracker config file (``ultralytics/cfg/trackers/<name>``).
KINDS: dict[str, str] = {"bytetrack": "bytetrack.yaml", "botsort": "botsort.yaml"}

# The ultralytics yaml counts ``track_buffer`` in frames at their reference 30 fps.
_REFERENCE_FPS = 30.0

#: How much a young track's box and the detections are widened (times their width and height, on
#: each side) before their IoU is taken; see :func:`_young_buffer_class`. Only 0.6 and 0 (off) were
#: compared, on an eval scene at 10 fps (docs/rules.md, "Tracking fast vehicles"); other values
#: were not tried.
YOUNG_BUFFER = 0.6
#: A track is young until it has been updated this many times (its Kalman filter knows no speed yet).
YOUNG_UPDATES = 5


class Tracker:
    """Follows vehicles across the frames of one camera; call :meth:`update` once per frame, in order."""

    def __init__(self, impl: Any, kind: str, fps: float) -> None:
        self._impl = impl
        self.kind = kind
        self.fps = fps

    def update(self, detections: list[Detection], image: np.ndarray) -> list[Detection]:
        """Track this frame's detections.

        Returns the vehicles that belong to a confirmed track (``track_id`` set, box as
        smoothed by the tracker, same class and confidence), then the plates unchanged.
        A vehicle seen for the first time may be held back until the tracker confirms it.
        """
        check_image(image)
        from ultralytics.engine.results import Boxes

        vehicles = [d for d in detections if d.cls in _CLASS_IDS]
        plates = [d for d in detections if d.cls not in _CLASS_IDS]
        data = np.array(
            [[d.box.x1, d.box.y1, d.box.x2, d.box.y2, d.confidence, _CLASS_IDS[d.cls]] for d in vehicles],
            dtype=np.float32,
        ).reshape(-1, 6)
        tracks = self._impl.update(Boxes(data, image.shape[:2]), image)
        out: list[Detection] = []
        for row in np.asarray(tracks).reshape(-1, 8):
            x1, y1, x2, y2, track_id, _score, _cls, idx = row
            source = vehicles[int(idx)]
            box = replace(source.box, x1=float(x1), y1=float(y1), x2=float(x2), y2=float(y2))
            out.append(replace(source, box=box, track_id=int(track_id)))
        return out + plates

    def reset(self) -> None:
        """Forget every track (a camera restarted, a video looped); ids start again at 1."""
        self._impl.reset()


def grow_boxes(boxes: np.ndarray, buffer: float) -> np.ndarray:
    """``boxes`` (N x 4, x1 y1 x2 y2) widened by ``buffer`` times their width and height on each side."""
    pad = (boxes[:, 2:] - boxes[:, :2]) * buffer
    return np.hstack([boxes[:, :2] - pad, boxes[:, 2:] + pad])


def _young_buffer_class(base: type) -> type:
    """``base`` (an ultralytics tracker class) whose young tracks match on buffered IoU.

    A track's Kalman filter starts with no speed, so it predicts a new vehicle where it was last
    seen. At 10 fps a fast vehicle near the camera moves most of its own length between frames
    (consecutive boxes overlap with IoU 0.09-0.28), so plain IoU never matches its second frame: the
    tracker restarts it every frame and confirms it only far away, too late to time it. A track
    updated fewer than ``YOUNG_UPDATES`` times that plain IoU matches to no detection gets a second
    chance: its IoU with the detections that no track matches is taken on boxes widened by
    ``young_buffer`` (the buffered IoU of C-BIoU, Yang et al. 2023). Only pairs that would both be
    left alone change, so a queue of vehicles, where every box has a plain match, keeps its ids.
    """
    from ultralytics.utils.metrics import bbox_ioa

    class YoungBuffered(base):  # type: ignore[misc,valid-type]
        young_buffer = YOUNG_BUFFER

        def get_dists(self, tracks: list[Any], detections: list[Any]) -> np.ndarray:
            dists = super().get_dists(tracks, detections)
            if not len(tracks) or not len(detections) or self.young_buffer <= 0:
                return dists
            unmatched = dists >= self.args.match_thresh
            rows = [
                i for i, t in enumerate(tracks) if t.tracklet_len < YOUNG_UPDATES and unmatched[i].all()
            ]
            cols = np.flatnonzero(unmatched.all(axis=0))
            if not rows or not len(cols):
                return dists
            a = grow_boxes(np.array([tracks[i].xyxy for i in rows], dtype=np.float64), self.young_buffer)
            b = grow_boxes(np.array([detections[j].xyxy for j in cols], dtype=np.float64), self.young_buffer)
            similarity = bbox_ioa(a, b, iou=True)
            if self.args.fuse_score:
                similarity = similarity * np.array([detections[j].score for j in cols])[None, :]
            dists[np.ix_(np.asarray(rows, dtype=np.intp), cols)] = 1 - similarity
            return dists

    YoungBuffered.__name__ = f"YoungBuffered{base.__name__}"
    return YoungBuffered


def make_tracker(kind: str = "bytetrack", *, fps: float = 10, young_buffer: float = YOUNG_BUFFER) -> Tracker:
    """A fresh tracker for one camera, configured from ultralytics' default yaml for ``kind``.

    ``fps`` rescales the yaml's lost-track buffer (frames at 30 fps) so a lost vehicle is kept for
    the same time whatever the camera's frame rate. ``young_buffer`` widens the boxes a young
    track matches on (``_young_buffer_class``; 0 gives ultralytics' matching unchanged).
    Unknown ``kind`` -> ``ValueError``.
    """
    if kind not in KINDS:
        raise ValueError(f"tracker: unknown kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    if not fps > 0:
        raise ValueError(f"tracker: expected fps > 0, got {fps}")
    if not young_buffer >= 0:
        raise ValueError(f"tracker: expected young_buffer >= 0, got {young_buffer}")
    ultralytics = import_ultralytics()
    from ultralytics.trackers.track import TRACKER_MAP

    cfg_path = Path(ultralytics.__file__).parent / "cfg" / "trackers" / KINDS[kind]
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["track_buffer"] = max(1, round(cfg["track_buffer"] * fps / _REFERENCE_FPS))
    if kind == "botsort":
        cfg["with_reid"] = False  # ReID would need another model, which cannot be downloaded here
    cfg.setdefault("device", "cpu")
    impl = _young_buffer_class(TRACKER_MAP[cfg["tracker_type"]])(args=SimpleNamespace(**cfg))
    impl.young_buffer = young_buffer
    return Tracker(impl, kind, fps)
