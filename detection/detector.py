"""Vehicle and plate detection with an ultralytics YOLO model, behind one adapter.

This module and ``detection/tracking.py`` are the only places that import ultralytics; everything
they hand back is the project's own :class:`detection.types.Detection`.

The shipped model (``detection/models/detector/``) is a YOLO11n trained from scratch on the scene
simulator; its classes are listed in ``classes.yaml`` beside it. Real weights plug in by
configuration, a path and a class map from the model's class ids to ours::

    YoloDetector(Path("yolo11n.pt"), class_map=parse_class_map("2:car,3:motorbike,5:bus,7:truck"))

Classes that the map leaves out (a COCO person, a dog) are dropped by the adapter.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import yaml

from detection.types import Box, Detection, ObjectClass

if TYPE_CHECKING:  # pragma: no cover
    from ultralytics.engine.results import Results

MODEL_DIR = Path(__file__).parent / "models" / "detector"
DEFAULT_WEIGHTS = MODEL_DIR / "detector.pt"
CLASSES_FILE = MODEL_DIR / "classes.yaml"

#: The simulator's (and the shipped model's) class ids.
SIM_CLASS_MAP: dict[int, ObjectClass] = {
    0: ObjectClass.MOTORBIKE,
    1: ObjectClass.CAR,
    2: ObjectClass.BUS,
    3: ObjectClass.TRUCK,
    4: ObjectClass.PLATE,
}

#: A COCO-pretrained model (yolo11n.pt and friends): no plate class, vehicles only.
COCO_CLASS_MAP: dict[int, ObjectClass] = {
    2: ObjectClass.CAR,
    3: ObjectClass.MOTORBIKE,
    5: ObjectClass.BUS,
    7: ObjectClass.TRUCK,
}

#: The shipped model in each format ultralytics can run here; all share ``classes.yaml``.
SHIPPED: dict[str, Path] = {
    "pytorch": DEFAULT_WEIGHTS,
    "onnx": MODEL_DIR / "detector.onnx",
    "openvino": MODEL_DIR / "detector_openvino_model",
}

_WEIGHT_SUFFIXES = (".pt", ".onnx")


def shipped_weights(backend: str = "pytorch") -> Path:
    """The shipped detector for ``backend`` (pytorch, onnx, openvino); unknown -> ``ValueError``."""
    if backend not in SHIPPED:
        raise ValueError(f"detector backend: unknown {backend!r}; known backends: {', '.join(SHIPPED)}")
    return SHIPPED[backend]


class Detector(Protocol):
    """Finds vehicles and plates in one BGR image (H x W x 3, uint8)."""

    def detect(self, image: np.ndarray) -> list[Detection]: ...


def parse_class_map(spec: str) -> dict[int, ObjectClass]:
    """Parse a config string such as ``"2:car,3:motorbike,5:bus,7:truck"``.

    Each entry is ``<model class id>:<our class name>``; our names are the values of
    :class:`ObjectClass`. Raises ``ValueError`` naming the bad entry (and the known names for an
    unknown class); an id given twice is an error too.
    """
    known = ", ".join(c.value for c in ObjectClass)
    result: dict[int, ObjectClass] = {}
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    if not entries:
        raise ValueError(f"class map: expected entries like '2:car,3:motorbike', got {spec!r}")
    for entry in entries:
        id_text, sep, name = entry.partition(":")
        if not sep:
            raise ValueError(f"class map: expected '<id>:<class>', got {entry!r} in {spec!r}")
        try:
            class_id = int(id_text.strip())
        except ValueError:
            raise ValueError(
                f"class map: expected an integer model class id, got {id_text.strip()!r} in {entry!r}"
            ) from None
        if class_id < 0:
            raise ValueError(f"class map: expected a class id >= 0, got {class_id} in {entry!r}")
        try:
            cls = ObjectClass(name.strip().lower())
        except ValueError:
            raise ValueError(
                f"class map: unknown class {name.strip()!r} in {entry!r}; known classes: {known}"
            ) from None
        if class_id in result:
            raise ValueError(f"class map: class id {class_id} given twice in {spec!r}")
        result[class_id] = cls
    return result


def load_class_map(path: Path = CLASSES_FILE) -> dict[int, ObjectClass]:
    """Read a ``classes.yaml`` (``names: {0: motorbike, ...}``, the ultralytics data-set form)."""
    data = yaml.safe_load(Path(path).read_text())
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise ValueError(f"{path}: expected a 'names' mapping of class id -> class name, got {names!r}")
    return parse_class_map(",".join(f"{k}:{v}" for k, v in names.items()))


def from_ultralytics(result: Results, class_map: Mapping[int, ObjectClass]) -> list[Detection]:
    """The one adapter: one ultralytics ``Results`` (a single image) to our detections.

    Boxes are in the original image's pixels. A box whose class id is not in ``class_map`` is
    dropped. When the result was produced by a tracker (``boxes.id`` set), ``track_id`` is filled.
    """
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return []
    xyxy = _numpy(boxes.xyxy)
    conf = _numpy(boxes.conf)
    cls = _numpy(boxes.cls).astype(int)
    ids = _numpy(boxes.id).astype(int) if boxes.id is not None else None
    out: list[Detection] = []
    for i in range(len(cls)):
        ours = class_map.get(int(cls[i]))
        if ours is None:
            continue
        x1, y1, x2, y2 = (float(v) for v in xyxy[i])
        out.append(
            Detection(
                cls=ours,
                box=Box(x1, y1, x2, y2),
                confidence=float(conf[i]),
                track_id=int(ids[i]) if ids is not None else None,
            )
        )
    return out


def check_image(image: object) -> np.ndarray:
    """Validate a detector input: a BGR ``uint8`` array of shape (H, W, 3)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image: expected a numpy array (H, W, 3) uint8, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image: expected shape (H, W, 3), got {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image: expected dtype uint8, got {image.dtype}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"image: expected at least 8x8 pixels, got {image.shape[1]}x{image.shape[0]}")
    return image


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to whatever ``sys.stderr`` is when it logs (pytest and click
    swap it), so a closed capture buffer is never written to."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def import_ultralytics() -> Any:
    """Import ultralytics offline, with its log on stderr.

    ultralytics logs to stdout, and on a machine without its settings file the import itself
    announces the file it creates: that would corrupt the one JSON object a ``--json`` command
    prints. Every use of ultralytics in the project goes through here.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    if "ultralytics" not in sys.modules:
        with contextlib.redirect_stdout(sys.stderr):
            import ultralytics  # noqa: F401
    logger = logging.getLogger("ultralytics")
    for handler in list(logger.handlers):
        if type(handler) is logging.StreamHandler:
            quiet = _StderrHandler()
            quiet.setLevel(handler.level)
            quiet.setFormatter(handler.formatter)
            for f in handler.filters:
                quiet.addFilter(f)
            logger.removeHandler(handler)
            logger.addHandler(quiet)
    return sys.modules["ultralytics"]


def load_yolo(weights: Path, *, task: str = "detect") -> Any:
    """Load ``.pt``, ``.onnx`` or an OpenVINO export folder with ultralytics (offline)."""
    weights = Path(weights)
    if not weights.exists():
        raise FileNotFoundError(f"detector weights: {weights} does not exist")
    if weights.is_dir():
        if not any(weights.glob("*.xml")):
            raise ValueError(
                f"detector weights: expected an OpenVINO folder with a .xml model, got {weights}"
            )
    elif weights.suffix not in _WEIGHT_SUFFIXES:
        raise ValueError(f"detector weights: expected a .pt, .onnx or OpenVINO folder, got {weights.name!r}")
    YOLO = import_ultralytics().YOLO
    return YOLO(str(weights), task=task)


class YoloDetector:
    """:class:`Detector` backed by ultralytics YOLO (PyTorch, ONNX Runtime or OpenVINO).

    ``weights=None`` and ``class_map=None`` give the shipped model (PyTorch; see :data:`SHIPPED`
    for its ONNX and OpenVINO exports) with its own class map. Without ``class_map``, a
    ``classes.yaml`` beside the weights (or beside the OpenVINO folder) gives the map; failing
    that, the model's own class names are matched to ours by name (``car``, ``bus``, ``truck``...).
    Give an explicit map for anything else (COCO calls a motorbike ``motorcycle``: use
    :data:`COCO_CLASS_MAP`).

    Exported models (ONNX, OpenVINO) have a fixed input size: ``imgsz`` must match the export.
    """

    def __init__(
        self,
        weights: Path | None = None,
        *,
        class_map: Mapping[int, ObjectClass] | None = None,
        imgsz: int = 640,
        conf: float = 0.25,
        device: str = "cpu",
    ) -> None:
        if not 0.0 <= conf <= 1.0:
            raise ValueError(f"conf: expected a value in [0, 1], got {conf}")
        if imgsz < 32 or imgsz % 32:
            raise ValueError(f"imgsz: expected a multiple of 32 >= 32, got {imgsz}")
        self.weights = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        self.imgsz = imgsz
        self.conf = conf
        self.device = device
        self.model = load_yolo(self.weights)
        if class_map is None:
            beside = _classes_file_beside(self.weights)
            class_map = load_class_map(beside) if beside else _map_by_name(self.model.names)
        if not class_map:
            raise ValueError(
                f"{self.weights}: no model class matches ours by name ({self.model.names}); "
                "give class_map, e.g. parse_class_map('2:car,3:motorbike,5:bus,7:truck')"
            )
        self.class_map: dict[int, ObjectClass] = dict(class_map)

    def predict(self, image: np.ndarray, **kwargs: Any) -> Results:
        """The raw ultralytics result for one image (for callers inside ``detection/`` only)."""
        check_image(image)
        # Square letterbox, as in training and in the fixed-size exports: on the held-out set the
        # shipped model scores mAP50 0.698 with it and 0.649 with ultralytics' default minimal
        # (rectangular) padding.
        kwargs.setdefault("rect", False)
        return self.model.predict(
            image, imgsz=self.imgsz, conf=self.conf, device=self.device, verbose=False, **kwargs
        )[0]

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detections of the mapped classes in one BGR image, boxes in its pixels."""
        return from_ultralytics(self.predict(image), self.class_map)


def _classes_file_beside(weights: Path) -> Path | None:
    candidate = weights.parent / CLASSES_FILE.name
    return candidate if candidate.is_file() else None


def _map_by_name(names: Mapping[int, str]) -> dict[int, ObjectClass]:
    ours = {c.value: c for c in ObjectClass}
    return {int(i): ours[n.lower()] for i, n in names.items() if n.lower() in ours}


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "cpu"):
        value = value.cpu().numpy()
    return np.asarray(value)
