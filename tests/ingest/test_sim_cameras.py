"""The simulator's camera YAML files: they load, their calibration checks pass, they match the
generator, and the pinhole camera recovered from them is the one they were made from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.camera import CameraConfig, load_camera, load_cameras
from ingest.sim.geometry import pinhole_pose, pose_from_config
from ingest.sim.layout import build_layout
from ingest.sim.scenes import CAMERAS_DIR, random_camera, sim_camera_docs, write_sim_cameras

SIM_FILES = sorted(CAMERAS_DIR.glob("sim-*.yaml"))


def test_the_three_sim_cameras_exist() -> None:
    names = {p.stem for p in SIM_FILES}
    assert {"sim-intersection-01", "sim-intersection-02", "sim-speed-01"} <= names


@pytest.mark.parametrize("path", SIM_FILES, ids=lambda p: p.stem)
def test_camera_loads_and_checks_pass(path: Path) -> None:
    camera = load_camera(path)  # validation runs the distance checks
    assert camera.calibration.checks, "every sim camera carries a distance check"
    for check in camera.calibration.checks:
        measured = camera.distance_m(check.image_a, check.image_b)
        assert abs(measured - check.distance_m) / check.distance_m <= check.tolerance
    assert "CSGT" in camera.unit.name and camera.unit.phone and camera.unit.address
    if camera.signal is not None:
        x, y, w, h = camera.signal.region
        assert x >= 0 and y >= 0 and x + w <= camera.resolution[0] and y + h <= camera.resolution[1]


def test_yaml_files_match_the_generator(tmp_path: Path) -> None:
    written = write_sim_cameras(tmp_path)
    for path in written:
        assert path.read_text(encoding="utf-8") == (CAMERAS_DIR / path.name).read_text(encoding="utf-8"), (
            path.name
        )


def test_all_cameras_in_directory_load() -> None:
    cameras = load_cameras(CAMERAS_DIR)
    assert "sim-intersection-01" in cameras


def test_pose_recovered_from_homography_matches_the_pinhole() -> None:
    truth = pinhole_pose(
        width=1280,
        height=720,
        focal_px=1800.0,
        camera_x=3.0,
        camera_y=0.0,
        height_m=7.0,
        tilt_deg=24.0,
        yaw_deg=3.0,
    )
    H = truth.ground_homography()
    pts = np.array([[0, 12], [7, 12], [7, 30], [0, 30], [3.5, 20]], dtype=float)
    img = (H @ np.column_stack([pts, np.ones(len(pts))]).T).T
    img = img[:, :2] / img[:, 2:]
    doc = sim_camera_docs()["sim-speed-01"]
    doc["calibration"] = {
        "points": [
            {"image": list(map(float, i)), "world": list(map(float, w))}
            for i, w in zip(img, pts, strict=True)
        ]
    }
    doc.pop("speed")
    camera = CameraConfig.model_validate(doc)
    pose = pose_from_config(camera)
    assert pose.K[0, 0] == pytest.approx(1800.0, rel=1e-3)
    assert np.allclose(pose.centre, [3.0, 0.0, 7.0], atol=0.02)
    # a point one metre up projects where the true camera puts it
    p = np.array([[2.0, 18.0, 1.0]])
    assert np.allclose(pose.project(p)[0], truth.project(p)[0], atol=0.5)


def test_pose_refuses_an_affine_calibration() -> None:
    doc = sim_camera_docs()["sim-speed-01"]
    doc.pop("speed")
    doc["calibration"] = {
        "points": [
            {"image": [0, 0], "world": [0, 0]},
            {"image": [100, 0], "world": [1, 0]},
            {"image": [100, 100], "world": [1, 1]},
            {"image": [0, 100], "world": [0, 1]},
        ]
    }
    camera = CameraConfig.model_validate(doc)
    with pytest.raises(ValueError, match="perspective"):
        pose_from_config(camera)


def test_random_cameras_are_valid_and_varied() -> None:
    rng = np.random.default_rng(7)
    cams = [random_camera(rng, i) for i in range(6)]
    heights = {round(float(pose_from_config(c).centre[2]), 1) for c in cams}
    assert len(heights) > 3
    assert any(c.stop_line for c in cams) and any(c.speed for c in cams)
    for c in cams:
        build_layout(c)


@pytest.mark.parametrize("path", sorted(CAMERAS_DIR.glob("sim-*.yaml")), ids=lambda p: p.stem)
def test_the_stated_mount_height_is_the_one_the_calibration_implies(path: Path) -> None:
    """The speed rule scales a bus's speed by the file's mount height: it must be the height of
    the camera the homography comes from (recovered from the calibration alone)."""
    camera = load_camera(path)
    assert camera.calibration.mount_height_m is not None
    assert float(pose_from_config(camera).centre[2]) == pytest.approx(camera.calibration.mount_height_m, abs=0.05)
