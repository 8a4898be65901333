"""The ultralytics adapter and class-map configuration (no trained model needed)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from ultralytics.engine.results import Results

from detection.detector import (
    COCO_CLASS_MAP,
    SIM_CLASS_MAP,
    check_image,
    from_ultralytics,
    load_class_map,
    parse_class_map,
)
from detection.types import Box, ObjectClass

COCO_NAMES = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}


def _result(rows: list[list[float]], names: dict[int, str]) -> Results:
    image = np.zeros((480, 640, 3), np.uint8)
    return Results(image, path="frame.jpg", names=names, boxes=torch.tensor(rows, dtype=torch.float32))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("2:car,3:motorbike,5:bus,7:truck", COCO_CLASS_MAP),
        ("0:motorbike, 1:car, 2:bus, 3:truck, 4:plate", SIM_CLASS_MAP),
        (" 9 : PLATE ", {9: ObjectClass.PLATE}),
        ("2:car,", {2: ObjectClass.CAR}),
    ],
)
def test_parse_class_map(spec: str, expected: dict[int, ObjectClass]) -> None:
    assert parse_class_map(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "3:motorcycle",
            "unknown class 'motorcycle' in '3:motorcycle'; known classes: motorbike, car, bus, truck, plate",
        ),
        ("car:2", "expected an integer model class id, got 'car'"),
        ("2-car", "expected '<id>:<class>', got '2-car'"),
        ("2:car,2:bus", "class id 2 given twice"),
        ("-1:car", "expected a class id >= 0, got -1"),
        ("", "expected entries like"),
    ],
)
def test_parse_class_map_errors_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as info:
        parse_class_map(spec)
    assert message in str(info.value)


def test_load_class_map_reads_names_and_rejects_garbage(tmp_path) -> None:
    good = tmp_path / "classes.yaml"
    good.write_text("names:\n  0: motorbike\n  1: car\n  4: plate\nimgsz: 640\n")
    assert load_class_map(good) == {0: ObjectClass.MOTORBIKE, 1: ObjectClass.CAR, 4: ObjectClass.PLATE}
    listed = tmp_path / "listed.yaml"
    listed.write_text("names: [motorbike, car]\n")
    assert load_class_map(listed) == {0: ObjectClass.MOTORBIKE, 1: ObjectClass.CAR}
    bad = tmp_path / "bad.yaml"
    bad.write_text("classes: 5\n")
    with pytest.raises(ValueError, match="expected a 'names' mapping"):
        load_class_map(bad)


def test_adapter_maps_coco_ids_and_drops_unmapped_classes() -> None:
    result = _result(
        [
            [10, 20, 110, 90, 0.9, 2],  # car
            [200, 50, 240, 130, 0.8, 3],  # motorcycle -> motorbike
            [300, 60, 320, 120, 0.95, 0],  # person: not in the map
            [400, 100, 600, 300, 0.7, 7],  # truck
            [0, 0, 50, 50, 0.6, 5],  # bus
        ],
        COCO_NAMES,
    )
    detections = from_ultralytics(result, COCO_CLASS_MAP)
    assert [d.cls for d in detections] == [
        ObjectClass.CAR,
        ObjectClass.MOTORBIKE,
        ObjectClass.TRUCK,
        ObjectClass.BUS,
    ]
    assert detections[0].box == Box(10.0, 20.0, 110.0, 90.0)
    assert detections[1].confidence == pytest.approx(0.8)
    assert all(d.track_id is None for d in detections)


def test_adapter_keeps_track_ids_and_handles_empty_results() -> None:
    tracked = _result(
        [[10, 20, 110, 90, 7, 0.9, 1], [5, 5, 25, 15, 8, 0.5, 4]], {i: str(i) for i in range(5)}
    )
    detections = from_ultralytics(tracked, SIM_CLASS_MAP)
    assert [(d.cls, d.track_id) for d in detections] == [(ObjectClass.CAR, 7), (ObjectClass.PLATE, 8)]
    empty = Results(
        np.zeros((48, 64, 3), np.uint8), path="f.jpg", names=COCO_NAMES, boxes=torch.zeros((0, 6))
    )
    assert from_ultralytics(empty, COCO_CLASS_MAP) == []


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ([[0]], "expected a numpy array"),
        (np.zeros((10, 10), np.uint8), r"expected shape \(H, W, 3\), got \(10, 10\)"),
        (np.zeros((10, 10, 3), np.float32), "expected dtype uint8, got float32"),
        (np.zeros((4, 4, 3), np.uint8), "expected at least 8x8 pixels"),
    ],
)
def test_bad_images_are_refused_with_a_clear_error(image: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        check_image(image)


@pytest.fixture(scope="module")
def coco_style_weights(tmp_path_factory: pytest.TempPathFactory):
    """An 80-class model with COCO's names (random weights: nothing can be downloaded here)."""
    from ultralytics import YOLO

    model = YOLO("yolo11n.yaml")
    model.model.names = {i: COCO_NAMES.get(i, f"coco{i}") for i in range(80)}
    path = tmp_path_factory.mktemp("coco") / "coco.pt"
    model.save(path)
    return path


def test_real_weights_plug_in_with_a_configured_class_map(coco_style_weights) -> None:
    from detection.detector import YoloDetector

    by_name = YoloDetector(coco_style_weights)  # no map: matched by name; COCO says "motorcycle"
    assert by_name.class_map == {2: ObjectClass.CAR, 5: ObjectClass.BUS, 7: ObjectClass.TRUCK}
    configured = YoloDetector(
        coco_style_weights, class_map=parse_class_map("2:car,3:motorbike,5:bus,7:truck"), imgsz=160
    )
    assert configured.class_map == COCO_CLASS_MAP
    # untrained weights: ask for everything, every box of an unmapped class must be dropped
    configured.conf = 0.0
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    raw = configured.predict(image)
    detections = configured.detect(image)
    raw_classes = raw.boxes.cls.int().tolist()
    assert len(detections) == sum(1 for c in raw_classes if c in COCO_CLASS_MAP)
    assert {d.cls for d in detections} <= set(COCO_CLASS_MAP.values())


def test_weights_whose_names_match_nothing_need_a_class_map(coco_style_weights, tmp_path) -> None:
    from ultralytics import YOLO

    from detection.detector import YoloDetector

    model = YOLO(str(coco_style_weights))
    model.model.names = {i: f"thing{i}" for i in range(80)}
    path = tmp_path / "things.pt"
    model.save(path)
    with pytest.raises(ValueError, match="no model class matches ours by name"):
        YoloDetector(path)
    with pytest.raises(ValueError, match=r"conf: expected a value in \[0, 1\], got 1.5"):
        YoloDetector(path, class_map=COCO_CLASS_MAP, conf=1.5)


def test_a_classes_yaml_beside_the_weights_gives_the_map(coco_style_weights, tmp_path) -> None:
    from detection.detector import YoloDetector

    folder = tmp_path / "city-model"
    folder.mkdir()
    (folder / "model.pt").write_bytes(coco_style_weights.read_bytes())
    (folder / "classes.yaml").write_text("names:\n  3: motorbike\n  7: truck\n")
    assert YoloDetector(folder / "model.pt").class_map == {3: ObjectClass.MOTORBIKE, 7: ObjectClass.TRUCK}


def test_shipped_weights_by_backend() -> None:
    from detection.detector import DEFAULT_WEIGHTS, shipped_weights

    assert shipped_weights() == DEFAULT_WEIGHTS
    assert shipped_weights("openvino").name == "detector_openvino_model"
    with pytest.raises(ValueError, match="unknown 'tensorrt'; known backends: pytorch, onnx, openvino"):
        shipped_weights("tensorrt")


def test_ultralytics_logs_to_stderr_so_json_output_stays_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On a machine without ultralytics' settings file its import announces the file it creates;
    through ``import_ultralytics`` that and every later log line go to stderr, never stdout."""
    code = (
        "import json; from detection.detector import import_ultralytics\n"
        "u = import_ultralytics(); u.utils.LOGGER.info('a log line')\n"
        "print(json.dumps({'ok': True}))\n"
    )
    env = {**os.environ, "YOLO_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"ok": true}\n'
    assert "Creating new Ultralytics Settings" in done.stderr
    assert "a log line" in done.stderr
