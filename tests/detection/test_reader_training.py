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


WIDE_CONFIG = Path(__file__).resolve().parents[2] / "docs" / "data" / "cct_xs_wide_model_config.yaml"


@pytest.fixture(scope="module")
def narrow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped reader's weights as Keras weights (converted once for the widening tests)."""
    from phatnguoi.commands.train_plates import MODEL_CONFIG, keras_weights_from_onnx

    out = tmp_path_factory.mktemp("narrow") / "narrow.weights.h5"
    keras_weights_from_onnx(DEFAULT_MODEL, MODEL_CONFIG, DEFAULT_CONFIG, out)
    return out


def test_a_reader_widened_to_a_broader_stem_reads_as_before(narrow: Path, tmp_path: Path):
    import numpy as np
    import onnxruntime as ort
    from fast_plate_ocr.train.model.config import load_plate_config_from_yaml
    from fast_plate_ocr.train.model.model_builders import build_model
    from fast_plate_ocr.train.model.model_schema import load_model_config_from_yaml

    from phatnguoi.commands.train_plates import MODEL_CONFIG, _keras_plate_output, widen_keras_weights

    wide = tmp_path / "wide.weights.h5"
    assert widen_keras_weights(narrow, MODEL_CONFIG, WIDE_CONFIG, DEFAULT_CONFIG, wide) < 1e-3
    # checked apart from the function's own check: the saved wide weights against the shipped ONNX
    model = build_model(load_model_config_from_yaml(WIDE_CONFIG), load_plate_config_from_yaml(DEFAULT_CONFIG))
    model.load_weights(str(wide))
    stem = [tuple(w.shape) for w in model.weights if w.path.startswith("conv_stem/") and w.path.endswith("/kernel")]
    assert stem[:2] == [(3, 3, 1, 48), (3, 3, 48, 72)] and stem[-1] == (3, 3, 120, 96)
    sess = ort.InferenceSession(str(DEFAULT_MODEL), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(7).integers(0, 256, (3, *inp.shape[1:]), dtype=np.uint8)
    ref = sess.run(None, {inp.name: x})[0]
    got = _keras_plate_output(model, x).reshape(ref.shape)
    assert np.abs(got - ref).max() < 1e-3


def test_widening_the_last_convolution_is_refused(narrow: Path, tmp_path: Path):
    from phatnguoi.commands.train_plates import MODEL_CONFIG, widen_keras_weights

    too_wide = tmp_path / "too-wide.yaml"
    too_wide.write_text(MODEL_CONFIG.read_text().replace("filters: 96,", "filters: 128,"))
    with pytest.raises(click.ClickException, match="only the convolution stem to widen"):
        widen_keras_weights(narrow, MODEL_CONFIG, too_wide, DEFAULT_CONFIG, tmp_path / "w.weights.h5")
