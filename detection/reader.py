"""Plate reading: a crop of a plate in, a ``PlateRead`` out.

This is the only module that imports fast_plate_ocr. ``OnnxPlateReader`` runs the model the
project trained and ships in ``detection/models/plate_ocr/`` (or several given, averaged) with
fast-plate-ocr's ``LicensePlateRecognizer`` (ONNX Runtime, CPU), using its session, its plate
config and its pre- and post-processing, but batching the views of each crop itself
(``DEFAULT_PAD_VIEWS``) and averaging their character probabilities. The text is
normalised (letters and digits); it is never corrected: ``valid`` says whether it fits the
Vietnamese plate grammar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from cases.plates import Layout, is_valid, normalize, parse
from detection.types import PlateRead

MODEL_DIR = Path(__file__).with_name("models") / "plate_ocr"
DEFAULT_MODEL = MODEL_DIR / "vn_plate_ocr.onnx"
DEFAULT_CONFIG = MODEL_DIR / "plate_config.yaml"

#: The crop is read as it is and padded left and right by 8 % of its width (edge pixels repeated),
#: and the two reads' character probabilities are averaged. A detector's box often cuts a plate at
#: its first or last character; the padded view gives that character room. Chosen on synthetic
#: plates (docs/model-plate-reader.md, "Reading two views").
DEFAULT_PAD_VIEWS: tuple[float, ...] = (0.0, 0.08)

# A crop wider than this (width / height) is a one-row plate (one-row 520x110 mm = 4.7, two-row
# car 330x165 mm = 2.0, motorbike 190x140 mm = 1.36); between 2.0 and 3.0 the text decides.
ONE_ROW_MIN_ASPECT = 3.0
TWO_ROW_MAX_ASPECT = 2.0


@runtime_checkable
class PlateReader(Protocol):
    def read(self, crop: np.ndarray) -> PlateRead:
        """Read one BGR plate crop."""
        ...


def infer_layout(crop_shape: tuple[int, ...], text: str = "") -> str:
    """``"one-row"`` or ``"two-row"`` from the crop's aspect ratio, and the text where that is
    ambiguous (a motorbike text is two-row)."""
    h, w = crop_shape[0], crop_shape[1]
    aspect = w / max(1, h)
    if aspect >= ONE_ROW_MIN_ASPECT:
        return Layout.ONE_ROW.value
    if aspect <= TWO_ROW_MAX_ASPECT:
        return Layout.TWO_ROW.value
    kinds = {p.kind.value for p in parse(text)} if text else set()
    if kinds == {"motorbike"}:
        return Layout.TWO_ROW.value
    return Layout.ONE_ROW.value if aspect >= 2.5 else Layout.TWO_ROW.value


def _check_crop(crop: object, index: int | None = None) -> np.ndarray:
    where = "" if index is None else f" at index {index}"
    if not isinstance(crop, np.ndarray):
        raise TypeError(f"expected a numpy BGR image{where}, got {type(crop).__name__}")
    if crop.ndim not in (2, 3) or (crop.ndim == 3 and crop.shape[2] not in (1, 3)):
        raise ValueError(f"expected an HxW or HxWx3 image{where}, got shape {crop.shape}")
    if crop.shape[0] < 4 or crop.shape[1] < 4:
        raise ValueError(f"expected a crop at least 4x4 pixels{where}, got shape {crop.shape}")
    if crop.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image{where}, got dtype {crop.dtype}")
    return crop


def _file_version(path: Path) -> str:
    return f"{path.stem}@{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


class OnnxPlateReader:
    """fast-plate-ocr ``LicensePlateRecognizer`` on the shipped ONNX model (or those given).

    ``model_path``: one ONNX file or several that share the plate config; with several, every
    model reads every view and their character probabilities are averaged (an ensemble; the
    shipped reader is one model: two did not read real plates better, docs/model-plate-reader.md).
    ``pad_views``: each crop is read once per entry, padded left and right by that fraction of its
    width, and the character probabilities of the views are averaged (``DEFAULT_PAD_VIEWS``;
    ``(0.0,)`` reads the crop once, as fast-plate-ocr does). ``version`` names each model file
    with the start of its sha256, so evidence says exactly which weights read the plate."""

    def __init__(self, model_path: Path | Sequence[Path] | None = None, config_path: Path | None = None,
                 pad_views: Sequence[float] = DEFAULT_PAD_VIEWS) -> None:
        import cv2  # noqa: F401  (checked here so a missing OpenCV fails at construction)
        from fast_plate_ocr import LicensePlateRecognizer

        self.pad_views = tuple(float(f) for f in pad_views)
        if not self.pad_views or any(not 0.0 <= f <= 0.5 for f in self.pad_views):
            raise ValueError(f"expected one or more pad_views between 0 and 0.5, got {tuple(pad_views)}")

        if model_path is None:
            paths: tuple[Path, ...] = (DEFAULT_MODEL,)
        elif isinstance(model_path, (str, Path)):
            paths = (Path(model_path),)
        else:
            paths = tuple(Path(p) for p in model_path)
        if not paths:
            raise ValueError("expected one or more plate-reader models, got none")
        self.model_paths = paths
        self.config_path = Path(config_path) if config_path else DEFAULT_CONFIG
        for label, path in (*(("model", p) for p in paths), ("plate config", self.config_path)):
            if not path.is_file():
                raise FileNotFoundError(f"expected the plate-reader {label} at {path}, found nothing")
        self._recognizers = [
            LicensePlateRecognizer(onnx_model_path=p, plate_config_path=self.config_path, device="cpu") for p in paths
        ]
        self._recognizer = self._recognizers[0]
        self._grey = self._recognizer.config.image_color_mode == "grayscale"
        self.version = "+".join(_file_version(p) for p in paths)

    def _prepare(self, crop: np.ndarray) -> np.ndarray:
        import cv2

        if crop.ndim == 3 and crop.shape[2] == 1:
            crop = crop[..., 0]
        if self._grey:
            return crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        return cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB if crop.ndim == 2 else cv2.COLOR_BGR2RGB)

    def read(self, crop: np.ndarray) -> PlateRead:
        """Read one BGR crop (uint8, HxWx3 or HxW)."""
        return self.read_many([crop])[0]

    def _probabilities(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The models' character probabilities (N x slots*alphabet) for prepared crops, averaged
        over the models and the ``pad_views`` of each crop."""
        import cv2
        from fast_plate_ocr.core.process import preprocess_image, resize_image

        cfg = self._recognizer.config
        batch = []
        for img in images:
            for f in self.pad_views:
                p = int(round(f * img.shape[1]))
                view = cv2.copyMakeBorder(img, 0, 0, p, p, cv2.BORDER_REPLICATE) if p else img
                batch.append(resize_image(view, cfg.img_height, cfg.img_width, image_color_mode=cfg.image_color_mode,
                                          keep_aspect_ratio=cfg.keep_aspect_ratio,
                                          interpolation_method=cfg.interpolation, padding_color=cfg.padding_color))
        x = preprocess_image(np.stack(batch))
        outs = [np.asarray(r.model.run([r.plate_output_name], {"input": x})[0], dtype=np.float32)
                for r in self._recognizers]
        views = len(self.pad_views)
        return np.mean(outs, axis=0).reshape(len(images), views, -1).mean(axis=1)

    def read_many(self, crops: Sequence[np.ndarray]) -> list[PlateRead]:
        """Read a batch of BGR crops in one model call; the order is kept."""
        from fast_plate_ocr.core.process import postprocess_output

        if len(crops) == 0:
            return []
        prepared = [self._prepare(_check_crop(c, i)) for i, c in enumerate(crops)]
        cfg = self._recognizer.config
        preds = postprocess_output(model_output=self._probabilities(prepared), max_plate_slots=cfg.max_plate_slots,
                                   model_alphabet=cfg.alphabet, pad_char=cfg.pad_char, remove_pad_char=True,
                                   return_confidence=True)
        pad = cfg.pad_char
        reads = []
        for crop, pred in zip(crops, preds, strict=True):
            raw = pred.plate.replace(pad, "")
            text = normalize(raw)
            probs = np.asarray(pred.char_probs if pred.char_probs is not None else [], dtype=float)
            confs = tuple(float(p) for ch, p in zip(pred.plate, probs, strict=False) if ch != pad)
            reads.append(
                PlateRead(
                    text=text,
                    char_confidences=confs,
                    layout=infer_layout(crop.shape, text),
                    valid=is_valid(text),
                )
            )
        return reads
