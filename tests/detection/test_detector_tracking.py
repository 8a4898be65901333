"""Vehicle tracking with ultralytics' ByteTrack / BoT-SORT fed with our own detections."""

from __future__ import annotations

import numpy as np
import pytest

from detection.tracking import make_tracker
from detection.types import Box, Detection, ObjectClass

IMAGE = np.full((480, 640, 3), 90, np.uint8)


def _scene(frame: int) -> list[Detection]:
    """Two cars driving towards each other and a motorbike, each with a plate, 10 px per frame."""
    f = frame
    return [
        Detection(ObjectClass.CAR, Box(40 + 10 * f, 100, 160 + 10 * f, 180), 0.9),
        Detection(ObjectClass.CAR, Box(480 - 10 * f, 120, 600 - 10 * f, 200), 0.85),
        Detection(ObjectClass.MOTORBIKE, Box(300, 300 - 6 * f, 340, 380 - 6 * f), 0.8),
        Detection(ObjectClass.PLATE, Box(80 + 10 * f, 165, 110 + 10 * f, 175), 0.7),
    ]


@pytest.mark.parametrize("kind", ["bytetrack", "botsort"])
def test_ids_stay_stable_while_vehicles_move(kind: str) -> None:
    tracker = make_tracker(kind, fps=10)
    ids_by_vehicle: dict[int, set[int]] = {0: set(), 1: set(), 2: set()}
    for frame in range(15):
        inputs = _scene(frame)
        out = tracker.update(inputs, IMAGE)
        vehicles = [d for d in out if d.cls is not ObjectClass.PLATE]
        plates = [d for d in out if d.cls is ObjectClass.PLATE]
        assert len(vehicles) == 3, f"frame {frame}: expected 3 tracked vehicles, got {vehicles}"
        assert plates == [inputs[3]]  # passed through untouched, untracked
        for d in vehicles:
            # match each output to the input it came from by position (the tracker may smooth a little)
            source = min(
                range(3), key=lambda i: abs(inputs[i].box.x1 - d.box.x1) + abs(inputs[i].box.y1 - d.box.y1)
            )
            assert abs(inputs[source].box.x1 - d.box.x1) < 3
            assert d.cls is inputs[source].cls
            ids_by_vehicle[source].add(d.track_id)
    assert all(len(ids) == 1 for ids in ids_by_vehicle.values()), ids_by_vehicle
    assert len({next(iter(ids)) for ids in ids_by_vehicle.values()}) == 3  # three different ids


def test_a_vehicle_briefly_missed_keeps_its_id_and_a_new_one_gets_a_new_id() -> None:
    tracker = make_tracker("bytetrack", fps=10)
    first = {}
    for frame in range(9):
        scene = _scene(frame)[:1]
        if frame in (4, 5):
            scene = []  # occluded for two frames
        if frame >= 7:  # a new vehicle is confirmed on its second frame
            scene.append(Detection(ObjectClass.TRUCK, Box(400, 300, 600, 460), 0.9))
        for d in tracker.update(scene, IMAGE):
            first.setdefault(d.cls, set()).add(d.track_id)
    assert len(first[ObjectClass.CAR]) == 1
    assert first[ObjectClass.TRUCK].isdisjoint(first[ObjectClass.CAR])


def test_trackers_are_per_camera_and_reset_restarts_ids() -> None:
    a, b = make_tracker(), make_tracker()
    ids_a = {d.track_id for d in a.update(_scene(0), IMAGE) if d.track_id is not None}
    ids_b = {d.track_id for d in b.update(_scene(0)[:1], IMAGE) if d.track_id is not None}
    assert ids_a == {1, 2, 3} and ids_b == {1}
    a.reset()
    assert {d.track_id for d in a.update(_scene(0)[2:3], IMAGE)} == {1}


def test_unknown_kind_and_bad_fps_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind 'sort'; known kinds: botsort, bytetrack"):
        make_tracker("sort")
    with pytest.raises(ValueError, match="expected fps > 0, got 0"):
        make_tracker(fps=0)


def test_empty_frame_and_bad_image() -> None:
    tracker = make_tracker()
    assert tracker.update([], IMAGE) == []
    with pytest.raises(ValueError, match="expected shape"):
        tracker.update(_scene(0), np.zeros((10, 10), np.uint8))


# A motorbike coming towards a 10 fps camera at about 75 km/h (YOLO's boxes in the eval scene
# sim-speed-01, seed 9000011, frames 713-720): it moves most of its own height every frame, so
# consecutive boxes overlap with IoU 0.11-0.4.
FAST_MOTORBIKE = [
    (194, 508, 270, 720),
    (246, 435, 318, 640),
    (286, 372, 355, 566),
    (318, 330, 378, 497),
    (346, 289, 404, 446),
    (367, 258, 419, 401),
    (390, 232, 439, 365),
    (408, 210, 452, 326),
]


def _follow(tracker_kwargs: dict[str, float]) -> list[int | None]:
    tracker = make_tracker("bytetrack", fps=10, **tracker_kwargs)
    image = np.full((720, 1280, 3), 90, np.uint8)
    tracker.update([], image)  # on a tracker's very first frame every vehicle is confirmed at once
    ids = []
    for box in FAST_MOTORBIKE:
        out = tracker.update([Detection(ObjectClass.MOTORBIKE, Box(*box), 0.8)], image)
        ids.append(out[0].track_id if out else None)
    return ids


def test_a_fast_vehicle_is_followed_from_its_second_frame() -> None:
    ids = _follow({})
    assert ids[0] is None  # a new vehicle waits for its second frame
    assert ids[1] is not None and set(ids[1:]) == {ids[1]}, ids


def test_without_the_young_track_buffer_the_fast_vehicle_is_picked_up_late() -> None:
    # ultralytics' plain IoU matching (young_buffer=0): the reason the buffer exists
    ids = _follow({"young_buffer": 0.0})
    assert ids[1] is None and ids[2] is None, ids


def test_young_buffer_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="expected young_buffer >= 0, got -0.1"):
        make_tracker(young_buffer=-0.1)
