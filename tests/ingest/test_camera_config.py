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


LANE = {"id": "L1", "polygon": [[400, 700], [880, 700], [760, 300], [520, 300]], "flow": [[640, 680], [640, 320]]}
SPEED = {"entry": [[420, 650], [860, 650]], "exit": [[530, 320], [750, 320]], "limits_kmh": {"car": 60}}


def with_(**changes: object) -> dict:
    data = {**BASE}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}  # type: ignore[dict-item]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # identity and place
        (with_(name=""), r"name: String should have at least 1 character"),
        (with_(address=""), r"address: String should have at least 1 character"),
        (with_(unit={"code": "", "name": "x"}), r"unit\.code"),
        (with_(gps={"lat": 106.7, "lon": 10.77}), r"gps: .*expected a point in Vietnam.*\(lat and lon swapped\?\)"),
        (with_(gps={"lat": 48.85, "lon": 2.35}), r"gps: .*expected a point in Vietnam"),
        # calibration
        (
            with_(calibration={"points": [{"image": [i, i], "world": [i, i]} for i in range(4)]}),
            r"calibration: the points are degenerate",
        ),
        (
            with_(calibration={**BASE["calibration"], "checks": [
                {"image_a": [400, 700], "image_b": [880, 700], "distance_m": 10.0, "tolerance": 0.1}]}),
            r"calibration\.checks\.0\.tolerance: Input should be less than or equal to 0\.02",
        ),
        (
            with_(calibration={"points": [*BASE["calibration"]["points"],
                                          {"image": [640, 500], "world": [9, 35]}]}),
            r"calibration: point .* is reproduced at .* m off \(more than 2% of the",
        ),
        # geometry
        (with_(stop_line=[[100, 400], [104, 400]]), r"stop_line: expected two points at least 10 px apart"),
        (with_(stop_line=[[100, 4000], [900, 4000]]), r"stop_line: point \(100, 4000\) is far outside"),
        (with_(stop_line=[[-100, 400], [-20, 400]]), r"stop_line: lies entirely outside the 1280x720 image"),
        (with_(lanes=[LANE, LANE]), r"lanes: duplicate ids \['L1'\]"),
        (with_(lanes=[{**LANE, "polygon": [[0, 0], [10, 10], [20, 20]]}]), r"lane L1: the polygon has no area"),
        (with_(lanes=[{**LANE, "flow": [[100, 100], [120, 100]]}]), r"lane L1: the flow arrow .* does not run inside"),
        (with_(lanes=[{**LANE, "allowed": []}]), r"lanes\.0\.allowed: List should have at least 1 item"),
        (
            with_(no_stopping=[{"id": "Z1", "polygon": LANE["polygon"], "max_dwell_s": 0}]),
            r"no_stopping\.0\.max_dwell_s: Input should be greater than 0",
        ),
        (with_(speed={**SPEED, "limits_kmh": {"car": 600}}), r"expected a speed limit in 5\.\.150 km/h for car"),
        (with_(speed={**SPEED, "tolerance_kmh": -1}), r"speed\.tolerance_kmh: Input should be greater than"),
        (
            with_(speed={**SPEED, "exit": [[420, 640], [860, 640]]}),
            r"speed: entry and exit lines are 0\.\d m apart on the road, expected at least 8 m",
        ),
        # signal source
        (with_(signal={"source": "topic"}), r"signal\.source is 'topic' but signal\.topic is missing"),
        (with_(signal={"source": "topic", "topic": "bad topic!"}), r"signal\.topic: String should match pattern"),
        (with_(signal={"region": [1270, 40, 40, 110]}), r"signal\.region .* is not inside the 1280x720 image"),
        (with_(signal={"red_grace_s": -1}), r"signal\.red_grace_s: Input should be greater than or equal to 0"),
        (with_(signal={"source": "carrier-pigeon"}), r"signal\.source: Input should be 'pixels' or 'topic'"),
    ],
)
def test_every_section_is_validated_with_a_clear_error(tmp_path: Path, data: dict, message: str) -> None:
    with pytest.raises(CameraConfigError, match=message) as info:
        load_camera(write(tmp_path, data))
    assert "cam.yaml" in str(info.value)


def test_a_file_must_check_its_calibration_against_a_known_distance(tmp_path: Path) -> None:
    data = {**BASE, "calibration": {"points": BASE["calibration"]["points"]}}
    with pytest.raises(CameraConfigError, match=r"calibration\.checks: expected at least one known distance"):
        load_camera(write(tmp_path, data))
    assert load_camera(write(tmp_path, data), require_checks=False).calibration.checks == []


def test_external_signal_controller_topic_is_accepted(tmp_path: Path) -> None:
    camera = load_camera(write(tmp_path, with_(signal={"source": "topic", "topic": "signals.hx-01", "region": None})))
    assert camera.signal is not None and camera.signal.topic == "signals.hx-01"


def test_full_geometry_is_accepted(tmp_path: Path) -> None:
    camera = load_camera(write(tmp_path, with_(
        stop_line=[[420, 500], [860, 500]], lanes=[LANE],
        no_stopping=[{"id": "Z1", "polygon": LANE["polygon"], "max_dwell_s": 30}], speed=SPEED,
    )))
    assert camera.lanes[0].id == "L1" and camera.speed is not None


@pytest.mark.parametrize("name", ["sim-intersection-01", "sim-intersection-02", "sim-speed-01"])
def test_shipped_cameras_load(name: str) -> None:
    camera = load_camera(Path(__file__).resolve().parents[2] / "ingest" / "cameras" / f"{name}.yaml")
    assert camera.id == name and camera.calibration.checks
