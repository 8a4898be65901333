"""Detector training data from the simulator, in YOLO format.

Layout written under ``out``::

    images/train/*.jpg  images/val/*.jpg  labels/train/*.txt  labels/val/*.txt  data.yaml

Classes, in this order: 0 motorbike, 1 car, 2 bus, 3 truck, 4 plate. Scenes are randomised
(both layouts, jittered camera height/zoom/angle, lanes, day/night/rain/glare, blur, noise, JPEG
quality, density) and frames are taken seconds apart. Only objects that are visibly there are
labelled: vehicles at least ``MIN_VISIBLE`` unoccluded (of their part inside the frame) and
``MIN_VEHICLE_PX`` tall and wide, plates at least ``MIN_PLATE_VISIBLE`` visible and ``MIN_PLATE_PX``
wide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from ingest.sim.camera import SimulatedCamera
from ingest.sim.scenes import random_camera
from ingest.sim.types import FrameTruth, SignalTiming, SimOptions, ViolationRates

CLASSES = ["motorbike", "car", "bus", "truck", "plate"]
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}
MIN_VISIBLE = 0.35
MIN_VEHICLE_PX = 10
MIN_PLATE_VISIBLE = 0.7
MIN_PLATE_PX = 10
FRAMES_PER_SCENE = 8
FRAME_SPACING = 15  # frames between two samples (1.5 s at 10 fps)


@dataclass(frozen=True)
class DatasetSummary:
    out: Path
    images: dict[str, int]  # split -> images
    objects: dict[str, int]  # class name -> labelled objects


def yolo_labels(truth: FrameTruth, width: int, height: int) -> list[tuple[int, float, float, float, float]]:
    """YOLO rows (class, cx, cy, w, h normalised) for the visibly present vehicles and plates."""
    rows = []
    for v in truth.vehicles:
        x1, y1, x2, y2 = v.box
        # occlusion decides, not truncation: a vehicle half out of the frame is still a vehicle
        unoccluded = v.visible_fraction / v.in_frame_fraction if v.in_frame_fraction > 0 else 0.0
        if (
            unoccluded >= MIN_VISIBLE
            and v.in_frame_fraction >= 0.15
            and x2 - x1 >= MIN_VEHICLE_PX
            and y2 - y1 >= MIN_VEHICLE_PX
        ):
            rows.append(
                (
                    CLASS_ID[v.cls.value],
                    (x1 + x2) / 2 / width,
                    (y1 + y2) / 2 / height,
                    (x2 - x1) / width,
                    (y2 - y1) / height,
                )
            )
        if v.plate_box is not None and v.plate_visible_fraction >= MIN_PLATE_VISIBLE:
            px1, py1, px2, py2 = v.plate_box
            if px2 - px1 >= MIN_PLATE_PX and py2 - py1 >= 4:
                rows.append(
                    (
                        CLASS_ID["plate"],
                        (px1 + px2) / 2 / width,
                        (py1 + py2) / 2 / height,
                        (px2 - px1) / width,
                        (py2 - py1) / height,
                    )
                )
    return rows


def random_options(rng: np.random.Generator, violations: ViolationRates | None = None) -> SimOptions:
    """Random realism and traffic for one scene; ``violations`` sets the intents (the simulator's
    defaults when None)."""
    night = bool(rng.random() < 0.25)
    return SimOptions(
        night=night,
        rain=bool(rng.random() < 0.2),
        glare=bool(not night and rng.random() < 0.1),
        motion_blur=bool(rng.random() < 0.2),
        noise=float(rng.uniform(1.0, 6.0)),
        jpeg_quality=int(rng.integers(60, 96)),
        density=float(rng.uniform(0.6, 1.6)),
        motorbike_share=float(rng.uniform(0.55, 0.8)),
        bus_share=float(rng.uniform(0.1, 0.35)),  # buses are rare on the road, not in the data
        truck_share=float(rng.uniform(0.15, 0.3)),
        warmup_s=float(rng.uniform(15, 35)),
        signal=SignalTiming(offset_s=float(rng.uniform(0, 30))),
        violations=violations or ViolationRates(),
    )


def _is_val(seed: int, scene: int, val_fraction: float) -> bool:
    h = hashlib.sha256(f"{seed}|{scene}".encode()).digest()
    return int.from_bytes(h[:4], "big") / 2**32 < val_fraction


def write_detector_dataset(
    out: Path,
    *,
    n: int,
    seed: int,
    val_fraction: float = 0.15,
    imgsz: int | None = None,
    progress: Callable[[int], None] | None = None,
    violations: ViolationRates | None = None,
) -> DatasetSummary:
    """Write ``n`` labelled images (whole scenes go to one split, so val never shares a scene with
    train). ``imgsz`` resizes images so the longer side is ``imgsz`` (labels are normalised).
    ``violations`` sets the scenes' violation intents (e.g. more oncoming wrong-way motorbikes than
    the simulator's default 2 %, so that a detector sees their fronts often enough)."""
    if n < 1:
        raise ValueError(f"expected n >= 1, got {n}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"expected 0 <= val_fraction < 1, got {val_fraction}")
    out = Path(out)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = {"train": 0, "val": 0}
    objects = {name: 0 for name in CLASSES}
    written, scene = 0, 0
    n_scenes = -(-n // FRAMES_PER_SCENE)
    while written < n:
        camera = random_camera(rng, scene)
        options = random_options(rng, violations)
        # the last scene goes to val when none did yet, so a small set still has a val split
        split = (
            "val"
            if _is_val(seed, scene, val_fraction)
            or (val_fraction > 0 and scene == n_scenes - 1 and images["val"] == 0)
            else "train"
        )
        sim = SimulatedCamera(
            camera, seed=int(rng.integers(0, 2**31)), options=options, frames=FRAMES_PER_SCENE * FRAME_SPACING
        )
        quality = options.jpeg_quality
        for rendered in sim.render(every=FRAME_SPACING):
            if written >= n:
                break
            img = rendered.image
            h, w = img.shape[:2]
            if imgsz is not None:
                scale = imgsz / max(h, w)
                img = cv2.resize(
                    img, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_AREA
                )
            stem = f"s{seed}-{scene:05d}-{rendered.truth.sequence:05d}"
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            (out / "images" / split / f"{stem}.jpg").write_bytes(buf.tobytes())
            rows = yolo_labels(rendered.truth, w, h)
            for r in rows:
                objects[CLASSES[r[0]]] += 1
            (out / "labels" / split / f"{stem}.txt").write_text(
                "".join(f"{c} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}\n" for c, cx, cy, bw, bh in rows),
                encoding="utf-8",
            )
            images[split] += 1
            written += 1
            if progress is not None:
                progress(1)
        scene += 1
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "nc": len(CLASSES),
        "names": {i: name for i, name in enumerate(CLASSES)},
    }
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return DatasetSummary(out=out, images=images, objects=objects)
