"""``phatnguoi train plates``: synthetic plates -> fast-plate-ocr training -> ONNX reader.

Runs, with progress shown: ``ingest.sim.ocr_dataset.write_ocr_dataset`` for a training and a
validation set (different seeds; the validation set alone picks the checkpoint), fast-plate-ocr's
own trainer (``fast-plate-ocr train``, CCT-XS, Keras on TensorFlow) and its ONNX exporter; with
``--install`` the ONNX file and the plate config replace the shipped reader in
``detection/models/plate_ocr/``. ``--init-onnx`` fine-tunes from a reader ONNX file (the shipped
one, or an earlier version from git): only the ONNX file is shipped, so its weights are copied
into the Keras model first (``keras_weights_from_onnx``), checked against ONNX Runtime. With
``--keep-init`` the exported reader's weights are averaged with the starting reader's
(``average_onnx_weights``): the fine-tune keeps what it learned on average, while the reads it
reshuffled by chance move less (stage 20, docs/model-plate-reader.md). ``--model-config`` trains
another architecture; with ``--init-config`` naming the starting reader's, the reader is first
widened to it without changing its reads (``widen_keras_weights``; stage 22 tried a wider
convolution stem).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from detection.reader import DEFAULT_CONFIG, DEFAULT_MODEL, MODEL_DIR

MODEL_CONFIG = MODEL_DIR / "cct_xs_model_config.yaml"


def _fpo(*args: str) -> list[str]:
    exe = Path(sys.executable).with_name("fast-plate-ocr")
    if not exe.is_file():
        raise click.ClickException(f"expected the fast-plate-ocr CLI beside {sys.executable}, found none")
    return [str(exe), *args]


def _run(cmd: list[str], env: dict[str, str]) -> None:
    click.echo("$ " + " ".join(cmd))
    result = subprocess.run(cmd, env=env, check=False)
    if result.returncode != 0:
        raise click.ClickException(f"{cmd[1]} failed with exit code {result.returncode}")


def _keras_plate_output(model: Any, x: np.ndarray) -> np.ndarray:
    """The Keras reader's character probabilities for crops ``x`` (its output is a dict in some
    fast-plate-ocr versions)."""
    out = model.predict(x.astype(np.float32), verbose=0)
    return np.asarray(out["plate"] if isinstance(out, dict) else out)


def keras_weights_from_onnx(onnx_path: Path, model_config: Path, plate_config: Path, out: Path) -> float:
    """Copy the weights of a reader exported to ONNX (by ``fast-plate-ocr export``) into the Keras
    model that ``model_config`` builds and save them as ``out`` (``.weights.h5``), so that
    ``fast-plate-ocr train --weights-path`` can fine-tune the shipped reader: only the ONNX file is
    shipped, not the Keras checkpoint. Returns the largest difference between the Keras model's and
    ONNX Runtime's outputs on random crops, and raises if it is not tiny (a weight put in the wrong
    place would show there).
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import onnx
    import onnxruntime as ort
    from fast_plate_ocr.train.model.config import load_plate_config_from_yaml
    from fast_plate_ocr.train.model.model_builders import build_model
    from fast_plate_ocr.train.model.model_schema import load_model_config_from_yaml
    from onnx import numpy_helper

    keras.backend.clear_session()  # layer names below are those of the first model built in a session
    model = build_model(load_model_config_from_yaml(model_config), load_plate_config_from_yaml(plate_config))
    inits = [(i.name, numpy_helper.to_array(i)) for i in onnx.load(str(onnx_path)).graph.initializer]

    def pick(prefix: str, suffix: str = "") -> list[np.ndarray]:
        return [a for n, a in inits if n.startswith(prefix) and n.endswith(suffix)]

    def one(prefix: str, suffix: str = "") -> np.ndarray:
        found = pick(prefix, suffix)
        if len(found) != 1:
            raise click.ClickException(f"expected one ONNX weight {prefix}*{suffix} in {onnx_path}, got {len(found)}")
        return found[0]

    root = "CCT_OCR_1/"
    new: dict[str, np.ndarray] = {}
    # Convolution stem: ONNX kernels are (out, in, kh, kw), Keras (kh, kw, in, out); same order.
    conv_k = pick(root + "conv_stem_1/", "convolution/ReadVariableOp:0")
    conv_b = pick(root + "conv_stem_1/", "Squeeze:0")
    conv = [w.path for w in model.weights if w.path.startswith("conv_stem/conv2d")]
    if len(conv_k) != len(conv) // 2 or len(conv_b) != len(conv) // 2:
        raise click.ClickException(f"expected {len(conv) // 2} stem convolutions in {onnx_path}, got {len(conv_k)}")
    for i, path in enumerate(p for p in conv if p.endswith("kernel")):
        new[path] = conv_k[i].transpose(2, 3, 1, 0)
    for i, path in enumerate(p for p in conv if p.endswith("bias")):
        new[path] = conv_b[i]
    new["mlp/dense/kernel"] = one(root + "mlp_1/dense_1/Cast/ReadVariableOp")
    new["mlp/dense/bias"] = one(root + "mlp_1/dense_1/BiasAdd/ReadVariableOp")
    new["pos_emb/embeddings"] = one(root + "pos_emb_1/Slice")
    # Transformer blocks: within a block the ONNX weights come in the Keras layers' order.
    blocks = sorted({w.path.split("/")[0] for w in model.weights if w.path.startswith("transformer_block")})
    for block in blocks:
        pre = f"{root}{block}_1/"
        keras_w = [w for w in model.weights if w.path.startswith(block + "/")]
        layers = list(dict.fromkeys(w.path.split("/")[1] for w in keras_w))
        dyts = [n for n in layers if n.startswith("dy_t")]
        dyt = {"alpha": [], "weight": [], "bias": []}  # type: dict[str, list[np.ndarray]]
        for n, a in inits:
            if n.startswith(pre) and "/dy_t" in n:
                key = {"Mul": "alpha", "mul_1": "weight", "add": "bias"}.get(n.split("/")[-2])
                if key:
                    dyt[key].append(a)
        mlp_k = [a for n, a in inits if n.startswith(pre + "mlp") and n.endswith("Cast/ReadVariableOp:0")]
        mlp_b = [a for n, a in inits if n.startswith(pre + "mlp") and n.endswith("BiasAdd/ReadVariableOp:0")]
        dense = sorted({w.path.split("/")[2] for w in keras_w if w.path.split("/")[1].startswith("mlp")},
                       key=lambda s: int(s.rsplit("_", 1)[-1]) if "_" in s else 0)
        if any(len(v) != len(dyts) for v in dyt.values()) or len(mlp_k) != len(dense):
            raise click.ClickException(f"expected the layers of {block} in {onnx_path}, the names differ")
        for w in keras_w:
            parts = w.path.split("/")
            if parts[1].startswith("dy_t"):
                new[w.path] = dyt[parts[2]][dyts.index(parts[1])]
            elif parts[1].startswith("multi_head_attention"):
                role, kind = parts[2], parts[3]
                if role == "attention_output":
                    a = one(pre, "attention_output_1/Reshape_1:0") if kind == "kernel" else one(
                        pre, "attention_output_1/BiasAdd/ReadVariableOp:0")
                else:
                    a = one(pre, f"/{role}_1/Reshape:0") if kind == "kernel" else one(pre, f"/{role}_1/Squeeze:0")
                new[w.path] = a.reshape(tuple(w.shape))
            elif parts[1].startswith("mlp"):
                j = dense.index(parts[2])
                new[w.path] = mlp_k[j] if parts[3] == "kernel" else mlp_b[j]
    pre = root + "token_reducer_1/"
    mha = next(w.path.split("/")[1] for w in model.weights if w.path.startswith("token_reducer/multi_head"))
    new["token_reducer/query_tokens"] = one(pre + "Tile/ReadVariableOp")
    for role in ("query", "key", "value"):
        new[f"token_reducer/{mha}/{role}/kernel"] = one(pre, f"/{role}_1/Reshape:0")
        new[f"token_reducer/{mha}/{role}/bias"] = one(pre, f"/{role}_1/Add/ReadVariableOp:0")
    new[f"token_reducer/{mha}/attention_output/kernel"] = one(pre, "attention_output_1/Reshape_1:0")
    new[f"token_reducer/{mha}/attention_output/bias"] = one(pre, "attention_output_1/BiasAdd/ReadVariableOp:0")
    head = next(w.path.rsplit("/", 1)[0] for w in model.weights if w.path.startswith("plate/"))
    new[head + "/kernel"] = one(root + "plate_1/", "Cast/ReadVariableOp:0")
    new[head + "/bias"] = one(root + "plate_1/", "BiasAdd/ReadVariableOp:0")

    for w in model.weights:
        if w.path in new:
            w.assign(np.asarray(new[w.path], np.float32).reshape(tuple(w.shape)))
        elif not w.path.endswith("blur_kernel"):  # the blur kernels are fixed, not learnt
            raise click.ClickException(f"expected an ONNX weight for {w.path} in {onnx_path}, found none")

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(0).integers(0, 256, (4, *inp.shape[1:]), dtype=np.uint8)
    ref = sess.run(None, {inp.name: x})[0]
    got = _keras_plate_output(model, x).reshape(ref.shape)
    diff = float(np.abs(got - ref).max())
    if diff > 1e-3:
        raise click.ClickException(f"expected the Keras copy of {onnx_path} to match it, outputs differ by {diff}")
    model.save_weights(str(out))
    return diff


def widen_keras_weights(source_weights: Path, source_config: Path, target_config: Path, plate_config: Path,
                        out: Path, seed: int = 0) -> float:
    """Grow a reader to a wider architecture without changing what it reads (function-preserving,
    as Net2Net): ``target_config`` may give the convolution stem more filters than
    ``source_config``, nothing else may differ. Every old weight is copied; a new filter gets a
    random (He-normal) kernel over all its inputs, while the old filters get zero weights from the
    new inputs, so the widened model's outputs equal the old one's until training moves them. The
    last convolution must keep its width (the patch embedding reads it). Saves the widened
    weights as ``out`` and returns the largest output difference on random crops (raises if it is
    not tiny).
    """
    import re

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from fast_plate_ocr.train.model.config import load_plate_config_from_yaml
    from fast_plate_ocr.train.model.model_builders import build_model
    from fast_plate_ocr.train.model.model_schema import load_model_config_from_yaml

    plate = load_plate_config_from_yaml(plate_config)
    old = build_model(load_model_config_from_yaml(source_config), plate)
    old.load_weights(str(source_weights))
    new = build_model(load_model_config_from_yaml(target_config), plate)

    def base(path: str) -> str:  # Keras numbers layers per process: conv2d_7 and conv2d_12 are one layer
        return re.sub(r"_\d+", "", path)

    if [base(w.path) for w in old.weights] != [base(w.path) for w in new.weights]:
        raise click.ClickException(f"expected {target_config} to have the layers of {source_config}, they differ")
    rng = np.random.default_rng(seed)
    for w_old, w_new in zip(old.weights, new.weights, strict=True):
        if w_new.path.endswith("blur_kernel"):  # fixed, built from the channel count
            continue
        a, shape = w_old.numpy(), tuple(w_new.shape)
        if a.shape == shape:
            w_new.assign(a)
            continue
        grows = len(shape) == len(a.shape) and all(n >= o for n, o in zip(shape, a.shape, strict=True))
        if not grows or not w_new.path.startswith("conv_stem/") or len(shape) not in (1, 4):
            raise click.ClickException(f"expected only the convolution stem to widen, {w_new.path} goes "
                                       f"from {a.shape} to {shape}")
        if len(shape) == 4:  # (kh, kw, in, out)
            grown = rng.normal(0.0, np.sqrt(2.0 / (shape[0] * shape[1] * shape[2])), shape).astype(np.float32)
            grown[:, :, a.shape[2]:, : a.shape[3]] = 0.0  # new inputs do not reach the old filters
            grown[:, :, : a.shape[2], : a.shape[3]] = a
        else:  # bias
            grown = np.zeros(shape, np.float32)
            grown[: a.shape[0]] = a
        w_new.assign(grown)
    x = np.random.default_rng(seed + 1).integers(0, 256, (4, *old.input_shape[1:]))
    diff = float(np.abs(_keras_plate_output(new, x) - _keras_plate_output(old, x)).max())
    if diff > 1e-3:
        raise click.ClickException(f"expected the widened reader to read as {source_weights} does, "
                                   f"outputs differ by {diff}")
    new.save_weights(str(out))
    return diff


def average_onnx_weights(first: Path, second: Path, keep_first: float, out: Path) -> int:
    """Write ``out``: ``second``'s graph with every floating-point weight replaced by
    ``keep_first * first + (1 - keep_first) * second``; returns how many weights were averaged.

    The two must be exports of one architecture (a reader and its fine-tune): their nodes are
    paired by position (the exporter's constant names differ from one export to the next) and
    must have the same operators and weight shapes, or nothing is written.
    """
    import onnx
    from onnx import numpy_helper

    if not 0.0 <= keep_first <= 1.0:
        raise click.BadParameter(f"expected a share of the first reader's weights in [0, 1], got {keep_first}")
    a, b = onnx.load(str(first)), onnx.load(str(second))
    wa = {w.name: w for w in a.graph.initializer}
    wb = {w.name: w for w in b.graph.initializer}
    if len(a.graph.node) != len(b.graph.node) or len(wa) != len(wb):
        raise click.ClickException(f"expected {first} and {second} to be one architecture, their graphs differ in size")
    pairs: dict[str, str] = {}
    for node_a, node_b in zip(a.graph.node, b.graph.node, strict=True):
        if node_a.op_type != node_b.op_type or len(node_a.input) != len(node_b.input):
            raise click.ClickException(f"expected {first} and {second} to be one architecture, "
                                       f"node {node_a.name} is {node_a.op_type} against {node_b.op_type}")
        for in_a, in_b in zip(node_a.input, node_b.input, strict=True):
            is_weight = in_b in wb
            if is_weight != (in_a in wa) or (is_weight and pairs.setdefault(in_b, in_a) != in_a):
                raise click.ClickException(f"expected {first} and {second} to use their weights alike, "
                                           f"{in_a} and {in_b} differ")
    averaged = 0
    for name_b, name_a in pairs.items():
        x, y = numpy_helper.to_array(wa[name_a]), numpy_helper.to_array(wb[name_b])
        if x.shape != y.shape or x.dtype != y.dtype:
            raise click.ClickException(f"expected weights {name_a} and {name_b} to match, got {x.shape} and {y.shape}")
        if y.dtype.kind == "f":
            mixed = (keep_first * x.astype(np.float64) + (1 - keep_first) * y.astype(np.float64)).astype(y.dtype)
            wb[name_b].CopyFrom(numpy_helper.from_array(mixed, name_b))
            averaged += 1
    onnx.save(b, str(out))
    return averaged


@click.command()
@click.option("--n", "n", default=8000, show_default=True, help="Synthetic training plates.")
@click.option("--val-n", default=1000, show_default=True, help="Synthetic validation plates (checkpoint choice).")
@click.option("--epochs", default=3, show_default=True, help="Training epochs.")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--lr", default=2e-4, show_default=True, help="Peak learning rate (cosine schedule, 5% warm-up).")
@click.option("--seed", default=21, show_default=True, help="Training-set seed (validation uses seed+1).")
@click.option("--init-onnx", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fine-tune from this reader ONNX (its weights are copied into the Keras model); "
                   "default: train from scratch.")
@click.option("--augmentation", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Albumentations YAML for the trainer (saved with albumentations.save); "
                   "default: fast-plate-ocr's own.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/plate_ocr"),
              show_default=True, help="Work directory: data sets, checkpoints, exported model.")
@click.option("--model-config", type=click.Path(dir_okay=False, path_type=Path), default=MODEL_CONFIG,
              show_default=True, help="fast-plate-ocr model config (architecture) to train.")
@click.option("--init-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Architecture of --init-onnx when it is not --model-config: the reader is then widened "
                   "to --model-config without changing its reads (a wider convolution stem) before training.")
@click.option("--keep-init", default=0.0, show_default=True,
              help="Share of the starting reader's weights (--init-onnx) averaged into the exported one "
                   "(0: the fine-tune as it is; stage 20 kept 0.5).")
@click.option("--two-letter-p", default=None, type=float,
              help="Share of motorbike plates with a two-letter series (51-FB) in the generated sets "
                   "(default: ingest.sim.plates.TWO_LETTER_P_TRAIN).")
@click.option("--install/--no-install", default=False, show_default=True,
              help="Copy the exported model over the shipped one in detection/models/plate_ocr/.")
def group(n: int, val_n: int, epochs: int, batch_size: int, lr: float, seed: int, init_onnx: Path | None,
          augmentation: Path | None, model_config: Path, init_config: Path | None, keep_init: float, out: Path,
          two_letter_p: float | None, install: bool) -> None:
    """Generate synthetic Vietnamese plates, train (or fine-tune) the plate reader, export it to ONNX.

    The defaults are the last stage of the shipped reader's recipe (docs/model-plate-reader.md):
    with --init-onnx pointing at the reader it started from, they reproduce it.
    """
    from ingest.sim.ocr_dataset import write_ocr_dataset
    from ingest.sim.plates import TWO_LETTER_P_TRAIN

    if n < 1 or val_n < 1 or epochs < 1 or lr <= 0:
        raise click.BadParameter(f"expected n, val-n, epochs >= 1 and lr > 0, got {n}, {val_n}, {epochs}, {lr}")
    if init_onnx is not None and not init_onnx.is_file():
        raise click.BadParameter(f"expected a reader ONNX file at {init_onnx}, found nothing")
    if not 0.0 <= keep_init < 1.0 or (keep_init and init_onnx is None):
        raise click.BadParameter(f"expected --keep-init in [0, 1) and, above 0, an --init-onnx, got {keep_init}")
    if two_letter_p is None:
        two_letter_p = TWO_LETTER_P_TRAIN
    if not 0.0 <= two_letter_p <= 1.0:
        raise click.BadParameter(f"expected --two-letter-p between 0 and 1, got {two_letter_p}")
    if augmentation is not None and not augmentation.is_file():
        raise click.BadParameter(f"expected an augmentation YAML at {augmentation}, found nothing")
    for what, cfg in (("--model-config", model_config), ("--init-config", init_config)):
        if cfg is not None and not cfg.is_file():
            raise click.BadParameter(f"expected a model config YAML for {what} at {cfg}, found nothing")
    # the starting reader's architecture when it is to be widened to model_config first
    widen_from = init_config if init_config is not None and init_config.resolve() != model_config.resolve() else None
    if widen_from is not None and (init_onnx is None or keep_init):
        raise click.BadParameter("expected --init-config only with --init-onnx and without --keep-init "
                                 "(readers of two architectures cannot be averaged)")
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    train_csv = write_ocr_dataset(out / "train", n=n, seed=seed, two_letter_p=two_letter_p)
    val_csv = write_ocr_dataset(out / "val", n=val_n, seed=seed + 1, two_letter_p=two_letter_p)
    plate_config = train_csv.parent / "plate_config.yaml"

    env = dict(os.environ)
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    init_args: list[str] = []
    if init_onnx is not None:
        weights = out / "init.weights.h5"
        diff = keras_weights_from_onnx(init_onnx, widen_from or model_config, plate_config, weights)
        click.echo(f"fine-tuning from {init_onnx} (Keras copy matches ONNX Runtime within {diff:.1e})")
        if widen_from is not None:
            wide = out / "init.widened.weights.h5"
            diff = widen_keras_weights(weights, widen_from, model_config, plate_config, wide, seed=seed)
            click.echo(f"widened it to {model_config} (same reads within {diff:.1e})")
            weights = wide
        init_args = ["--weights-path", str(weights)]
    if augmentation is not None:
        init_args += ["--augmentation-path", str(augmentation)]
    runs = out / "checkpoints"
    before = set(runs.glob("*")) if runs.exists() else set()
    _run(
        _fpo(
            "train",
            "--model-config-file", str(model_config),
            "--plate-config-file", str(plate_config),
            "--annotations", str(train_csv),
            "--val-annotations", str(val_csv),
            "--epochs", str(epochs),
            "--batch-size", str(batch_size),
            "--lr", str(lr),
            "--output-dir", str(runs),
            "--seed", str(seed),
            *init_args,
        ),
        env,
    )
    new_runs = sorted(set(runs.glob("*")) - before)
    if not new_runs or not (new_runs[-1] / "best.keras").is_file():
        raise click.ClickException(f"expected a best.keras under a new run in {runs}, found none")
    best = new_runs[-1] / "best.keras"
    _run(_fpo("export", "-m", str(best), "-f", "onnx", "--plate-config-file", str(plate_config)), env)
    onnx = best.with_suffix(".onnx")
    if not onnx.is_file():
        raise click.ClickException(f"expected the exported model at {onnx}, found none")
    if keep_init and init_onnx is not None:
        tuned = onnx.with_name("best.fine-tuned.onnx")
        shutil.copy(onnx, tuned)
        n_avg = average_onnx_weights(init_onnx, tuned, keep_init, onnx)
        click.echo(f"averaged {n_avg} weights: {keep_init:.2f} of {init_onnx}, the rest of {tuned}")
    click.echo(f"model: {onnx} ({onnx.stat().st_size / 1e6:.1f} MB), "
               f"{(time.monotonic() - started) / 60:.1f} min in all")
    if install:
        DEFAULT_MODEL.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(onnx, DEFAULT_MODEL)
        shutil.copy(plate_config, DEFAULT_CONFIG)
        click.echo(f"installed {DEFAULT_MODEL} and {DEFAULT_CONFIG}")
