"""Public copies of evidence images: bystanders' plates and people's heads blurred.

The public lookup shows a violation's images to anyone who knows the plate, so the copy it shows
must not identify anyone else: every plate but the violator's is blurred, and so is every head
the frame is known to hold (motorbike riders: the top of each motorbike's box, the violator's
riders included, since a face proves nothing about a vehicle's act; any frontal face OpenCV's
stock cascade finds, e.g. a pedestrian's). The original is kept untouched beside the copy.

Which plate is the violator's is known from the detection stage: each frame in the ring carries
the plates seen on it and the tracked vehicle each belongs to (``FrameObjects``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detection.types import Box, ObjectClass

#: Share of a motorbike box, from its top, that holds its riders' heads (and helmets).
RIDER_HEAD_SHARE = 0.38
#: Blurred regions grow by this share of their size on each side (a plate's frame, a chin).
BLUR_PAD = 0.15


@dataclass(frozen=True)
class FrameObjects:
    """What the detection stage saw on one frame: tracked vehicles (tracker id, class, box) and
    plates (box, tracker id of the vehicle holding it, or None)."""

    vehicles: tuple[tuple[int | None, ObjectClass, Box], ...] = ()
    plates: tuple[tuple[Box, int | None], ...] = ()


def head_regions(objects: FrameObjects) -> list[Box]:
    """Where riders' heads are: the top ``RIDER_HEAD_SHARE`` of every motorbike box."""
    out = []
    for _, cls, box in objects.vehicles:
        if cls == ObjectClass.MOTORBIKE:
            out.append(Box(box.x1, box.y1, box.x2, box.y1 + RIDER_HEAD_SHARE * (box.y2 - box.y1)))
    return out


@lru_cache(maxsize=1)
def _face_cascade() -> Any | None:  # cv2.CascadeClassifier (not in OpenCV 5's type stubs)
    data = getattr(cv2, "data", None)
    if data is None:
        return None
    path = Path(data.haarcascades) / "haarcascade_frontalface_default.xml"
    if not path.is_file():
        return None
    cascade = cv2.CascadeClassifier(str(path))  # type: ignore[attr-defined]
    return None if cascade.empty() else cascade


def faces(image: np.ndarray) -> list[Box]:
    """Frontal faces found by OpenCV's stock cascade (none when the cascade is not installed)."""
    cascade = _face_cascade()
    if cascade is None:
        return []
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found = cascade.detectMultiScale(grey, scaleFactor=1.15, minNeighbors=5, minSize=(16, 16))
    return [Box(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in np.asarray(found).reshape(-1, 4)]


def private_regions(objects: FrameObjects, violator: int | None, image: np.ndarray | None = None) -> list[Box]:
    """Every region of the frame to blur in its public copy: plates not held by ``violator``
    (a plate no vehicle holds is a bystander's too), heads, and, given the image, faces."""
    regions = [box for box, owner in objects.plates if violator is None or owner != violator]
    regions += head_regions(objects)
    if image is not None:
        # a "face" on the violator's plate is the cascade mistaking characters for eyes
        own = [box for box, owner in objects.plates if violator is not None and owner == violator]
        regions += [f for f in faces(image) if not any(_overlaps(f, p) for p in own)]
    return regions


def _overlaps(a: Box, b: Box) -> bool:
    return min(a.x2, b.x2) > max(a.x1, b.x1) and min(a.y2, b.y2) > max(a.y1, b.y1)


def blur_regions(image: np.ndarray, regions: list[Box], *, pad: float = BLUR_PAD) -> np.ndarray:
    """A copy of ``image`` with each region (grown by ``pad``) pixelated and then blurred: no
    character or facial feature survives, whatever the region's size. The input is not modified."""
    out = image.copy()
    h, w = out.shape[:2]
    for box in regions:
        bw, bh = box.x2 - box.x1, box.y2 - box.y1
        x1, y1 = max(0, int(box.x1 - pad * bw)), max(0, int(box.y1 - pad * bh))
        x2, y2 = min(w, int(np.ceil(box.x2 + pad * bw))), min(h, int(np.ceil(box.y2 + pad * bh)))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        patch = out[y1:y2, x1:x2]
        small = cv2.resize(patch, (max(1, (x2 - x1) // 8), max(1, (y2 - y1) // 8)), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
        k = max(3, (min(x2 - x1, y2 - y1) // 4) | 1)
        out[y1:y2, x1:x2] = cv2.GaussianBlur(coarse, (k, k), 0)
    return out


def sharpness(image: np.ndarray, box: Box) -> float:
    """Variance of the Laplacian inside ``box``: high for legible detail, near zero once blurred."""
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(image.shape[1], int(box.x2)), min(image.shape[0], int(box.y2))
    grey = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
