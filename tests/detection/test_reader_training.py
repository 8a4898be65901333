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

