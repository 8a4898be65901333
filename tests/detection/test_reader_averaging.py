"""``phatnguoi train plates --keep-init``: a fine-tuned reader's weights averaged with those of the
reader it started from. Needs only ``onnx`` (the dev and train extras), not TensorFlow."""

from pathlib import Path

import click
import pytest

from detection.reader import DEFAULT_MODEL


def test_averaging_two_readers_mixes_every_float_weight_and_refuses_other_graphs(tmp_path: Path):
    """``--keep-init``: the exported reader's weights averaged with the starting reader's."""
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from phatnguoi.commands.train_plates import average_onnx_weights

    model = onnx.load(str(DEFAULT_MODEL))
    shifted = onnx.load(str(DEFAULT_MODEL))
    for w in shifted.graph.initializer:
        x = numpy_helper.to_array(w)
        if x.dtype.kind == "f":
            w.CopyFrom(numpy_helper.from_array((x + 1).astype(x.dtype), w.name))
    onnx.save(shifted, str(tmp_path / "shifted.onnx"))
    n = average_onnx_weights(DEFAULT_MODEL, tmp_path / "shifted.onnx", 0.25, tmp_path / "mixed.onnx")
    before = {w.name: numpy_helper.to_array(w) for w in model.graph.initializer}
    after = {w.name: numpy_helper.to_array(w) for w in onnx.load(str(tmp_path / "mixed.onnx")).graph.initializer}
    floats = [k for k, x in before.items() if x.dtype.kind == "f"]
    assert n == len(floats) > 50
    for k in floats:
        assert np.allclose(after[k], before[k] + 0.75, atol=1e-5), k
    assert all(np.array_equal(after[k], x) for k, x in before.items() if x.dtype.kind != "f")

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "other.onnx"))
    with pytest.raises(click.ClickException, match="one architecture"):
        average_onnx_weights(DEFAULT_MODEL, tmp_path / "other.onnx", 0.5, tmp_path / "no.onnx")
    assert not (tmp_path / "no.onnx").exists()
