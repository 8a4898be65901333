"""Camera configuration: validated on load, with errors that name the file and the field."""

from pathlib import Path

import pytest
import yaml

from ingest.camera import CameraConfigError, load_camera

BASE = {
    "id": "cam-test-01",
    "name": "Test",
    "address": "Nguyễn Huệ, Quận 1, TP. Hồ Chí Minh",
    "gps": {"lat": 10.77, "lon": 106.70},
    "unit": {"code": "PC08", "name": "Phòng CSGT"},
    "calibration": {
        # a 10 m wide, 40 m long road patch seen in perspective
        "points": [
            {"image": [400, 700], "world": [0, 0]},
            {"image": [880, 700], "world": [10, 0]},
            {"image": [760, 300], "world": [10, 40]},
            {"image": [520, 300], "world": [0, 40]},
        ],
        "checks": [{"image_a": [400, 700], "image_b": [880, 700], "distance_m": 10.0}],
    },
    "signal": {"source": "pixels", "region": [1100, 40, 40, 110]},
}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cam.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_valid_camera_maps_pixels_to_metres(tmp_path: Path) -> None:
    camera = load_camera(write(tmp_path, BASE))
    assert camera.distance_m((400, 700), (520, 300)) == pytest.approx(40.0, rel=1e-6)
    world = camera.to_world([(760, 300)])
    assert world[0] == pytest.approx([10, 40], abs=1e-6)
    assert camera.to_image(world)[0] == pytest.approx([760, 300], abs=1e-6)


def test_failed_distance_check_names_the_distances(tmp_path: Path) -> None:
    data = {**BASE, "calibration": {**BASE["calibration"], "checks": [
        {"image_a": [400, 700], "image_b": [880, 700], "distance_m": 12.0}]}}
    with pytest.raises(CameraConfigError, match=r"expected 12.00 m .* got 10.00 m"):
        load_camera(write(tmp_path, data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Bad Id!"}, "id"),
        ({"extra_field": 1}, "extra_field"),
        ({"signal": {"source": "pixels"}}, "signal.region is missing"),
        ({"resolution": [0, 720]}, "expected a positive width and height"),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(CameraConfigError, match=message):
        load_camera(write(tmp_path, {**BASE, **change}))


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(CameraConfigError, match="broken.yaml"):
        load_camera(path)
