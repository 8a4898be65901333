"""Outputs of the simulator: the truth schema file, camera health effects (knocked, covered), the
YOLO detector data set and the ``phatnguoi sim`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from ingest.camera import load_camera
from ingest.sim.camera import SimulatedCamera
from ingest.sim.dataset import CLASSES, write_detector_dataset
from ingest.sim.registry import load_registry
from ingest.sim.scenes import CAMERAS_DIR
from ingest.sim.types import SCHEMA_PATH, FrameTruth, SimOptions, truth_schema
from phatnguoi.commands.sim import group


def test_schema_file_is_current() -> None:
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == json.loads(json.dumps(truth_schema()))
    assert truth_schema()["properties"]["schema_version"]["default"] == 1


def test_covered_and_knocked_cameras() -> None:
    cam = load_camera(CAMERAS_DIR / "sim-intersection-02.yaml")
    opts = SimOptions(warmup_s=10, noise=0, knocked_at_s=0.5, covered_at_s=1.0)
    frames = list(SimulatedCamera(cam, seed=1, options=opts, frames=12).render())
    normal, knocked, covered = frames[0], frames[6], frames[11]
    assert not normal.truth.knocked and knocked.truth.knocked and covered.truth.covered
    assert covered.truth.vehicles == [] and covered.image.mean() < 30
    assert normal.image.mean() > 60
    # the knocked view is turned: the signal head is no longer where the config says it is
    x, y, w, h = cam.signal.region
    before = normal.image[y : y + h, x : x + w].astype(int)
    after = knocked.image[y : y + h, x : x + w].astype(int)
    assert np.abs(before - after).mean() > 20
    for v in knocked.truth.vehicles:
        assert 0 <= v.box[0] < v.box[2] <= 1280 and 0 <= v.box[1] < v.box[3] <= 720


def test_detector_dataset_is_yolo_format(tmp_path: Path) -> None:
    summary = write_detector_dataset(tmp_path / "ds", n=10, seed=4, val_fraction=0.3, imgsz=640)
    assert sum(summary.images.values()) == 10 and summary.images["val"] >= 1
    data = yaml.safe_load((tmp_path / "ds" / "data.yaml").read_text())
    assert (
        data["names"]
        == {0: "motorbike", 1: "car", 2: "bus", 3: "truck", 4: "plate"}
        == dict(enumerate(CLASSES))
    )
    counts = np.zeros(5, int)
    for split in ("train", "val"):
        for img_path in (tmp_path / "ds" / "images" / split).glob("*.jpg"):
            img = cv2.imread(str(img_path))
            assert img.shape[1] == 640
            label = tmp_path / "ds" / "labels" / split / (img_path.stem + ".txt")
            for line in label.read_text().splitlines():
                c, *box = line.split()
                counts[int(c)] += 1
                assert all(0.0 <= float(b) <= 1.0 for b in box)
    assert counts[0] > counts[1] > 0 and counts[4] > 0  # motorbikes are the majority; plates labelled


def test_detector_dataset_is_deterministic(tmp_path: Path) -> None:
    write_detector_dataset(tmp_path / "a", n=3, seed=2)
    write_detector_dataset(tmp_path / "b", n=3, seed=2)
    for f in sorted((tmp_path / "a").rglob("*.*")):
        if f.name == "data.yaml":
            continue
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()


def test_sim_render_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        group, ["render", "--seed", "2", "--seconds", "1.5", "--out", str(out), "--night", "--boxes"]
    )
    assert result.exit_code == 0, result.output
    frames = sorted((out / "frames").glob("*.jpg"))
    assert len(frames) == 15
    lines = (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    truths = [FrameTruth.model_validate_json(line) for line in lines]
    assert [t.sequence for t in truths] == list(range(15))
    assert isinstance(json.loads((out / "violations.json").read_text(encoding="utf-8")), list)
    registry = load_registry(out / "registry.csv")
    assert {v.plate_text for t in truths for v in t.vehicles} <= set(registry)
    assert cv2.imread(str(out / "contact_sheet.png")) is not None


def test_sim_render_rejects_a_bad_camera(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: X\n", encoding="utf-8")
    result = CliRunner().invoke(
        group, ["render", "--seconds", "1", "--out", str(tmp_path / "o"), "--camera", str(bad)]
    )
    assert result.exit_code != 0 and "bad.yaml" in result.output


@pytest.mark.parametrize("args", [["dataset", "detector", "--n", "2"]])
def test_sim_dataset_command(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(group, [*args, "--out", str(tmp_path / "d"), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "data.yaml").exists()


def test_detector_dataset_scenes_get_the_violation_intents(tmp_path: Path, monkeypatch) -> None:
    import ingest.sim.dataset as dataset
    from ingest.sim.types import ViolationRates

    seen: list[ViolationRates] = []

    class Recording(SimulatedCamera):
        def __init__(self, *args, options: SimOptions, **kwargs) -> None:
            seen.append(options.violations)
            super().__init__(*args, options=options, **kwargs)

    monkeypatch.setattr(dataset, "SimulatedCamera", Recording)
    write_detector_dataset(tmp_path / "default", n=1, seed=2)
    write_detector_dataset(tmp_path / "oncoming", n=1, seed=2, violations=ViolationRates(wrong_way=0.15))
    assert seen[0] == ViolationRates() and seen[0].wrong_way == 0.02
    assert seen[1].wrong_way == 0.15 and seen[1].red_light == ViolationRates().red_light


def test_training_set_is_rendered_again_when_its_intents_change(tmp_path: Path, monkeypatch) -> None:
    import ingest.sim.dataset as dataset
    from phatnguoi.commands.train_detector import TRAIN_RATES, ensure_dataset

    calls: list[dict] = []

    def fake_write(out: Path, **kwargs) -> object:
        calls.append(kwargs)
        (out / "images" / "train").mkdir(parents=True)
        (out / "images" / "train" / "a.jpg").write_bytes(b"")

        class Summary:
            images: dict = {}
            objects: dict = {}

        return Summary()

    monkeypatch.setattr(dataset, "write_detector_dataset", fake_write)
    out = tmp_path / "ds"
    ensure_dataset(out, n=1, seed=2, val_fraction=0.1, rates=TRAIN_RATES)
    ensure_dataset(out, n=1, seed=2, val_fraction=0.1, rates=TRAIN_RATES)  # cached: same parameters
    assert len(calls) == 1 and calls[0]["violations"].wrong_way == TRAIN_RATES["wrong_way"]
    ensure_dataset(out, n=1, seed=2, val_fraction=0.1, rates={"wrong_way": 0.3})
    assert len(calls) == 2 and calls[1]["violations"].wrong_way == 0.3
    assert json.loads((out / "params.json").read_text())["rates"] == {"wrong_way": 0.3}
    ensure_dataset(out, n=1, seed=2, val_fraction=0.1)  # the held-out set: simulator defaults
    assert len(calls) == 3 and calls[2]["violations"] is None
