"""Fine-tuning starts from the shipped reader: its ONNX weights copied into fast-plate-ocr's Keras
model must give the same outputs. Needs the training extra (TensorFlow); skipped without it."""

import importlib.util
from pathlib import Path

import click
import pytest

from detection.reader import DEFAULT_CONFIG, DEFAULT_MODEL

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("keras") is None,
    reason="the training extra is not installed (pip install -e '.[train]'): no TensorFlow/Keras to fine-tune with",
)


def test_shipped_onnx_becomes_keras_weights_with_the_same_outputs(tmp_path: Path):
    from phatnguoi.commands.train_plates import MODEL_CONFIG, keras_weights_from_onnx

    out = tmp_path / "init.weights.h5"
    diff = keras_weights_from_onnx(DEFAULT_MODEL, MODEL_CONFIG, DEFAULT_CONFIG, out)
    assert diff < 1e-3
    assert out.is_file() and out.stat().st_size > 1_000_000


def test_a_model_that_is_not_the_reader_is_refused(tmp_path: Path):
    import onnx
    from onnx import TensorProto, helper

    from phatnguoi.commands.train_plates import MODEL_CONFIG, keras_weights_from_onnx

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    other = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(other))
    with pytest.raises(click.ClickException, match="expected"):
        keras_weights_from_onnx(other, MODEL_CONFIG, DEFAULT_CONFIG, tmp_path / "w.weights.h5")



def _stem_widths(tmp_path: Path, name: str, widths: tuple[int, ...]) -> Path:
    from phatnguoi.commands.train_plates import MODEL_CONFIG

    text = MODEL_CONFIG.read_text()
    for old, new in zip((32, 48, 64, 80, 96), widths, strict=True):
        text = text.replace(f"filters: {old},", f"filters: W{new},", 1)
    path = tmp_path / name
    path.write_text(text.replace("filters: W", "filters: "))
    return path


def test_a_reader_widened_to_a_broader_stem_reads_as_before(tmp_path: Path):
    import h5py

    from phatnguoi.commands.train_plates import MODEL_CONFIG, keras_weights_from_onnx, widen_keras_weights

    narrow = tmp_path / "narrow.weights.h5"
    keras_weights_from_onnx(DEFAULT_MODEL, MODEL_CONFIG, DEFAULT_CONFIG, narrow)
    wide_config = _stem_widths(tmp_path, "wide.yaml", (48, 72, 96, 120, 96))
    wide = tmp_path / "wide.weights.h5"
    diff = widen_keras_weights(narrow, MODEL_CONFIG, wide_config, DEFAULT_CONFIG, wide)
    assert diff < 1e-3
    assert wide.stat().st_size > narrow.stat().st_size  # the new filters are there, not dropped
    with h5py.File(wide) as f:
        shapes = []
        f.visititems(lambda name, obj: shapes.append(obj.shape) if hasattr(obj, "shape") else None)
    assert (3, 3, 48, 72) in shapes and (3, 3, 120, 96) in shapes


def test_widening_the_last_convolution_is_refused(tmp_path: Path):
    from phatnguoi.commands.train_plates import MODEL_CONFIG, keras_weights_from_onnx, widen_keras_weights

    narrow = tmp_path / "narrow.weights.h5"
    keras_weights_from_onnx(DEFAULT_MODEL, MODEL_CONFIG, DEFAULT_CONFIG, narrow)
    too_wide = _stem_widths(tmp_path, "too-wide.yaml", (32, 48, 64, 80, 128))
    with pytest.raises(click.ClickException, match="only the convolution stem to widen"):
        widen_keras_weights(narrow, MODEL_CONFIG, too_wide, DEFAULT_CONFIG, tmp_path / "w.weights.h5")
