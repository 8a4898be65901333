"""DetectionStage end to end on a drawn scene, with in-repo fakes for the models.

The scene: a 640x360 camera at 10 fps (20 px = 1 m); a signal drawn in the corner that the real
pixel classifier reads; one car driving up the image across the stop line at y = 180.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from detection.evidence import verify_package
from detection.evidence_store import FileEvidenceStore
from detection.fakes import IouTracker, ScriptedDetector, ScriptedReader
from detection.pipeline import CorruptFrameError, DetectionStage, StageSettings, UnknownCameraError
from detection.types import Box, Detection, ObjectClass, Rule, SignalPhase
from ingest.camera import CameraConfig
from ingest.types import Frame, SourceKind

KEY = b"test-signing-key-0123456789"
T0 = 1_795_000_000 * 10**9
SEQ0 = 1000
LIGHT = (20, 20, 24, 66)
LAMP = {
    SignalPhase.RED: ((40, 40, 255), 0),
    SignalPhase.YELLOW: ((0, 200, 255), 1),
    SignalPhase.GREEN: ((90, 255, 60), 2),
}


def camera(camera_id: str = "cam-a") -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": camera_id,
            "name": "Test",
            "address": "Ngã tư Hàng Xanh",
            "gps": {"lat": 10.8, "lon": 106.7},
            "unit": {"code": "PC08", "name": "Phòng CSGT"},
            "resolution": (640, 360),
            "fps": 10,
            "calibration": {
                "points": [
                    {"image": (x, y), "world": (x / 20, (360 - y) / 20)}
                    for x, y in [(0, 0), (640, 0), (640, 360), (0, 360)]
                ]
            },
            "stop_line": [(100, 180), (540, 180)],
            "lanes": [
                {
                    "id": "L1",
                    "polygon": [(100, 0), (540, 0), (540, 360), (100, 360)],
                    "flow": [(320, 350), (320, 10)],
                }
            ],
            "signal": {"region": LIGHT, "red_grace_s": 0.5},
        }
    )


def car_box(i: int) -> Box | None:
    """The car on frame i: 60x50 px, bottom at y = 345 - 10 i (crosses y = 180 at i = 16.5)."""
    bottom = 345 - 10 * i
    return Box(290, bottom - 50, 350, bottom) if bottom > 60 else None


def plate_box(car: Box) -> Box:
    return Box(car.x1 + 14, car.y2 - 14, car.x2 - 14, car.y2 - 3)


def render(i: int, phase: SignalPhase) -> np.ndarray:
    img = np.full((360, 640, 3), 110, np.uint8)
    cv2.line(img, (100, 180), (540, 180), (255, 255, 255), 2)
    x, y, w, h = LIGHT
    cv2.rectangle(img, (x, y), (x + w, y + h), (30, 30, 30), -1)
    colour, slot = LAMP[phase]
    cv2.circle(img, (x + w // 2, y + 11 + slot * 22), 8, colour, -1)
    car = car_box(i)
    if car:
        cv2.rectangle(img, (int(car.x1), int(car.y1)), (int(car.x2), int(car.y2)), (150, 40, 40), -1)
        p = plate_box(car)
        cv2.rectangle(img, (int(p.x1), int(p.y1)), (int(p.x2), int(p.y2)), (250, 250, 250), -1)
    return img


def detections(i: int) -> list[Detection]:
    car = car_box(i)
    if car is None:
        return []
    return [Detection(ObjectClass.CAR, car, 0.9), Detection(ObjectClass.PLATE, plate_box(car), 0.8)]


RED_AT_8 = [SignalPhase.GREEN] * 5 + [SignalPhase.YELLOW] * 3 + [SignalPhase.RED] * 40
ALL_GREEN = [SignalPhase.GREEN] * 48


def frames(phases, camera_id="cam-a"):
    out = []
    for i, phase in enumerate(phases):
        ok, jpeg = cv2.imencode(".jpg", render(i, phase))
        out.append(
            Frame(camera_id, SEQ0 + i, T0 + i * 100_000_000, 640, 360, SourceKind.SIMULATOR, jpeg.tobytes())
        )
    return out


def stage(tmp_path, reader=None, **settings):
    return DetectionStage(
        {"cam-a": camera()},
        detector=ScriptedDetector(detections),
        reader=reader or ScriptedReader("51A12345"),
        store=FileEvidenceStore(tmp_path / "evidence"),
        signing_key=KEY,
        tracker_factory=lambda cam: IouTracker(),
        model_versions={"detector": "fake@0", "reader": "fake@0"},
        settings=StageSettings(**settings),
    )


def run(s, fs):
    events = []
    emitted_at = []
    for f in fs:
        new = s.process(f)
        events += new
        emitted_at += [f.sequence] * len(new)
    return events, emitted_at


def test_red_light_crossing_yields_one_complete_event(tmp_path):
    s = stage(tmp_path)
    events, emitted_at = run(s, frames(RED_AT_8))
    assert len(events) == 1
    e = events[0]
    assert e.rule == Rule.RED_LIGHT and e.rule_version == "red_light@2"
    assert e.camera_id == "cam-a" and e.vehicle_class == "car" and e.track_id == 1
    assert e.frame_sequence == SEQ0 + 17  # first frame past the line
    assert e.occurred_at == datetime.fromtimestamp((T0 + 17 * 100_000_000) / 1e9, UTC)
    assert e.measurement.signal_phase == SignalPhase.RED
    # red seen from frame 8 (0.8 s), crossing interpolated at 1.65 s
    assert e.measurement.seconds_since_red == pytest.approx(0.85, abs=0.01)
    assert e.measurement.seconds_since_red_min == pytest.approx(0.8, abs=0.01)  # frame 16, before the line
    assert e.plate_text == "51A12345" and not e.needs_manual_plate
    assert e.plate_candidates[0].votes >= 3 and e.plate_candidates[0].frame_sequence >= SEQ0
    assert emitted_at == [SEQ0 + 27]  # once the "after" frame (1 s later) exists
    roles = {r.role: r for r in e.evidence}
    originals = {"before", "at", "after", "vehicle", "plate", "strip"}
    assert set(roles) == originals | {f"{r}_public" for r in originals}
    assert roles["at_public"].frame_sequence == roles["at"].frame_sequence
    assert roles["before"].frame_sequence == SEQ0 + 7 and roles["after"].frame_sequence == SEQ0 + 27
    assert e.model_versions["detector"] == "fake@0" and "pipeline" in e.model_versions
    assert e.thresholds["red_grace_s"] == 0.5
    assert verify_package(e, key=KEY, store=s.store)
    # plates read on several frames, at most max_plate_reads times
    assert 3 <= s.reader.calls <= s.settings.max_plate_reads


def test_green_crossing_yields_nothing(tmp_path):
    events, _ = run(stage(tmp_path), frames(ALL_GREEN))
    assert events == []


def test_replay_through_a_fresh_stage_gives_the_same_id_and_evidence(tmp_path):
    fs = frames(RED_AT_8)
    first, _ = run(stage(tmp_path / "a"), fs)
    second, _ = run(stage(tmp_path / "b"), fs)
    assert [e.violation_id for e in first] == [e.violation_id for e in second]
    assert [r.sha256 for r in first[0].evidence] == [r.sha256 for r in second[0].evidence]
    assert first[0].evidence_signature == second[0].evidence_signature


def test_redelivered_frames_are_skipped(tmp_path):
    s = stage(tmp_path)
    fs = frames(RED_AT_8)
    events, _ = run(s, fs[:20] + fs[15:])
    assert len(events) == 1 and s.stats["frames_skipped_out_of_order"] == 5


def test_unreadable_plate_becomes_a_manual_case_after_waiting(tmp_path):
    garbage = ScriptedReader("??", confidence=0.3)
    events, emitted_at = run(
        stage(tmp_path, reader=garbage, max_plate_reads=20, read_every_frames=3), frames(RED_AT_8)
    )
    assert len(events) == 1
    e = events[0]
    assert e.needs_manual_plate and e.plate_text is None
    assert e.plate_candidates and not e.plate_candidates[0].valid
    # waited past the after frame (1027) for a better read; emitted once the car (last seen at
    # 1028) had been gone for more than 3 frames
    assert emitted_at == [SEQ0 + 32]
    assert "plate" in {r.role for r in e.evidence}


def test_reads_capped_then_emitted_on_time(tmp_path):
    garbage = ScriptedReader("??", confidence=0.3)
    events, emitted_at = run(stage(tmp_path, reader=garbage, max_plate_reads=4), frames(RED_AT_8))
    assert emitted_at == [SEQ0 + 27] and events[0].needs_manual_plate


def test_corrupt_frame_raises_named_error(tmp_path):
    s = stage(tmp_path)
    bad = Frame("cam-a", 77, T0, 640, 360, SourceKind.SIMULATOR, b"\xff\xd8 not a jpeg")
    with pytest.raises(CorruptFrameError, match=r"cam-a#77.*cannot decode"):
        s.process(bad)
    assert isinstance(CorruptFrameError("c", 1, "x"), ValueError)


def test_wrong_size_frame_raises(tmp_path):
    ok, jpeg = cv2.imencode(".jpg", np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(CorruptFrameError, match="headers say 640x360"):
        stage(tmp_path).process(Frame("cam-a", 1, T0, 640, 360, SourceKind.SIMULATOR, jpeg.tobytes()))


def test_unknown_camera_raises_named_error(tmp_path):
    f = frames([SignalPhase.GREEN], camera_id="cam-zz")[0]
    with pytest.raises(UnknownCameraError, match=r"cam-zz#1000: unknown camera; known cameras: cam-a"):
        stage(tmp_path).process(f)


def test_state_is_bounded(tmp_path):
    s = stage(tmp_path, track_ttl_s=0.5)
    run(s, frames(RED_AT_8))
    assert s.tracks("cam-a") == []  # the car left; its track was dropped
    state = s._states["cam-a"]
    assert len(state.ring) <= 10 + 10 + 20 + 4 and state.pending == []


def test_ids_do_not_depend_on_other_cameras_with_the_real_tracker(tmp_path):
    """A camera's violation ids and track numbers must not depend on other cameras' traffic."""
    from detection.tracking import make_tracker

    def cam_a(i):  # the car appears on frame 3
        return detections(i - 3) if i >= 3 else []

    def cam_b(i):  # the same car, plus another one from frame 1
        extra = [Detection(ObjectClass.CAR, Box(420, 250 - 5 * i, 480, 300 - 5 * i), 0.9)] if i >= 1 else []
        return detections(i) + extra

    def real_stage(root, script):
        return DetectionStage(
            {"cam-a": camera("cam-a"), "cam-b": camera("cam-b")},
            detector=ScriptedDetector(script),
            reader=ScriptedReader("51A12345"),
            store=FileEvidenceStore(root),
            signing_key=KEY,
            tracker_factory=lambda cam: make_tracker("bytetrack", fps=cam.fps),
            model_versions={},
        )

    a, b = frames(RED_AT_8, "cam-a"), frames(RED_AT_8, "cam-b")
    alone_stage = real_stage(tmp_path / "1", cam_a)
    alone, _ = run(alone_stage, a)
    both_stage = real_stage(tmp_path / "2", lambda n: cam_b(n // 2) if n % 2 == 0 else cam_a(n // 2))
    both, _ = run(both_stage, [f for pair in zip(b, a, strict=True) for f in pair])
    assert len(alone) == 1
    from_a = [e for e in both if e.camera_id == "cam-a"]
    assert len(from_a) == 1 and from_a[0].violation_id == alone[0].violation_id
    assert from_a[0].track_id == 1
    # cam-b's two cars stayed two tracks
    assert both_stage.stats["tracks"] == 3


@pytest.mark.parametrize(
    "box, clipped",
    [
        ((100, 100, 200, 300), False),
        ((100, 100, 200, 359), True),
        ((0, 100, 50, 300), True),
        ((600, 100, 640, 300), True),
    ],
)
def test_boxes_cut_by_the_frame_edge_give_no_ground_point(box, clipped):
    from detection.pipeline import _clipped

    assert _clipped(Box(*box), 640, 360) is clipped


@pytest.mark.parametrize(
    "bottom, clipped",
    [
        (340.0, False),  # 20 px above the edge: on the road in view
        (351.0, True),  # 9 px: YOLO's box of a vehicle the edge cuts (p95 8.9 px on seed 9000011)
        (357.0, True),
    ],
)
def test_boxes_ending_just_above_the_bottom_edge_count_as_cut(bottom, clipped):
    from detection.pipeline import StageSettings, _clipped

    margin = StageSettings().bottom_margin_px
    assert _clipped(Box(100, 100, 200, bottom), 640, 360, bottom_margin=margin) is clipped


def test_stage_uses_the_detector_box_not_the_trackers(tmp_path):
    class LaggingTracker(IouTracker):  # returns a box shifted 10 px, as a lagging filter would
        def update(self, detections, image):
            return [
                Detection(
                    d.cls, Box(d.box.x1, d.box.y1 + 10, d.box.x2, d.box.y2 + 10), d.confidence, d.track_id
                )
                for d in super().update(detections, image)
            ]

    s = stage(tmp_path)
    s._states["cam-a"].tracker = LaggingTracker()
    run(s, frames(RED_AT_8[:5]))
    (track,) = s.tracks("cam-a")
    assert [p.image[1] for p in track.points] == [345 - 10 * i for i in range(5)]


def test_tracker_factory_may_take_the_camera_or_nothing(tmp_path):
    seen = []

    def per_camera(cam):
        seen.append(cam.id)
        return IouTracker()

    for factory in (per_camera, lambda: IouTracker()):
        s = DetectionStage(
            {"cam-a": camera()},
            detector=ScriptedDetector(detections),
            reader=ScriptedReader("51A12345"),
            store=FileEvidenceStore(tmp_path),
            signing_key=KEY,
            tracker_factory=factory,
            model_versions={},
        )
        assert isinstance(s._states["cam-a"].tracker, IouTracker)
    assert seen == ["cam-a"]


def test_external_signal_feed_drives_the_rule(tmp_path):
    """A camera whose phase comes from a signal controller: the drawn light is ignored."""
    cam = camera().model_copy(
        update={"signal": camera().signal.model_copy(update={"source": "topic", "topic": "signals.cam-a"})}
    )
    feed = {T0: SignalPhase.GREEN, T0 + 800_000_000: SignalPhase.RED}
    s = DetectionStage(
        {"cam-a": cam},
        detector=ScriptedDetector(detections),
        reader=ScriptedReader("51A12345"),
        store=FileEvidenceStore(tmp_path),
        signing_key=KEY,
        tracker_factory=lambda c: IouTracker(),
        model_versions={},
        signal_feeds={"cam-a": feed},
    )
    events, _ = run(s, frames(ALL_GREEN))
    assert len(events) == 1 and events[0].measurement.seconds_since_red == pytest.approx(0.85, abs=0.01)


def test_topic_camera_without_a_feed_is_refused(tmp_path):
    cam = camera().model_copy(
        update={"signal": camera().signal.model_copy(update={"source": "topic", "topic": "signals.cam-a"})}
    )
    with pytest.raises(ValueError, match="no phase feed"):
        DetectionStage(
            {"cam-a": cam},
            detector=ScriptedDetector(detections),
            reader=ScriptedReader("x"),
            store=FileEvidenceStore(tmp_path),
            signing_key=KEY,
            tracker_factory=lambda c: IouTracker(),
            model_versions={},
        )


def test_flush_emits_pending_at_the_end_of_a_stream(tmp_path):
    s = stage(tmp_path)
    events, _ = run(s, frames(RED_AT_8)[:20])  # stops 3 frames after the crossing
    assert events == []
    (e,) = s.flush()
    assert {r.role for r in e.evidence} >= {"before", "at", "after"} and verify_package(e, key=KEY)


def test_a_vehicle_split_into_two_tracks_yields_one_violation(tmp_path):
    class SplittingTracker(IouTracker):  # reports the car twice, as a fragmenting tracker can
        def update(self, detections, image):
            out = super().update(detections, image)
            return out + [
                Detection(
                    d.cls, Box(d.box.x1 + 4, d.box.y1, d.box.x2 + 4, d.box.y2), d.confidence, d.track_id + 100
                )
                for d in out
            ]

    s = stage(tmp_path, twin_iou=1.01)  # the time-window dedupe alone (twins: the next test)
    s._states["cam-a"].tracker = SplittingTracker()
    events, _ = run(s, frames(RED_AT_8))
    assert len(events) == 1 and s.stats["duplicates_red_light"] == 1


def test_a_twin_box_on_the_same_vehicle_does_not_fire_the_same_rule_again(tmp_path):
    """seed 9600001: YOLO gave one motorbike two boxes (IoU just under its NMS 0.7); the second
    track lived on after the first had fired wrong lane and fired it again 2 s later. A track
    born on top of a live one is its twin and shares the rules fired."""

    def with_twin(i: int) -> list[Detection]:
        out = detections(i)
        car = car_box(i)
        if car is not None and i >= 10:
            out.append(Detection(ObjectClass.CAR, Box(car.x1 + 3, car.y1 + 3, car.x2 + 3, car.y2 + 3), 0.8))
        return out

    def run_with(**settings):
        s = stage(tmp_path, dedupe_window_s=0.0, **settings)  # the time-window dedupe off: twins only
        s.detector = ScriptedDetector(with_twin)
        events, _ = run(s, frames(RED_AT_8))
        return events, s.stats

    events, stats = run_with(twin_iou=1.01)  # twins never recognised: both tracks fire
    assert [e.rule for e in events] == [Rule.RED_LIGHT, Rule.RED_LIGHT]
    events, stats = run_with()
    assert [e.rule for e in events] == [Rule.RED_LIGHT] and stats["twin_tracks"] == 1


class TentativeTracker(IouTracker):
    """Reports a track from its second detection on, as ByteTrack does (the first detection of a
    new object only makes a tentative track)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[int] = set()

    def update(self, detections, image):
        out = []
        for d in super().update(detections, image):
            if d.track_id in self.seen:
                out.append(d)
            self.seen.add(d.track_id)
        return out


@pytest.mark.parametrize(("birth_iou", "first"), [(0.3, SEQ0), (1.01, SEQ0 + 1)])
def test_a_track_gets_back_the_frame_it_was_born_on(tmp_path, birth_iou, first):
    s = stage(tmp_path, birth_iou=birth_iou)
    s._states["cam-a"].tracker = TentativeTracker()
    run(s, frames(ALL_GREEN)[:6])
    (track,) = s.tracks("cam-a")
    assert track.points[0].sequence == first
    assert track.points[0].box == car_box(first - SEQ0)  # the detector's box on that frame
    assert [p.sequence for p in track.points] == list(range(first, SEQ0 + 6))


class RenumberingTracker(IouTracker):
    """Gives every track a new id from frame ``at`` on, as ByteTrack does when it loses a fast
    vehicle and starts a new track on it."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.calls = at, 0

    def update(self, detections, image):
        out = super().update(detections, image)
        self.calls += 1
        return [replace(d, track_id=d.track_id + 100) for d in out] if self.calls > self.at else out


def test_a_track_lost_and_restarted_on_the_same_vehicle_does_not_fire_again(tmp_path):
    """seed 9600001: an 81 km/h wrong-way motorbike; ByteTrack lost it near the camera and its
    new track fired wrong way a second time 1.2 s after the first."""

    def against_the_flow(i: int) -> list[Detection]:  # driving down the image: 0.5 m per frame
        bottom = 60 + 10 * i
        return [Detection(ObjectClass.CAR, Box(290, bottom - 50, 350, bottom), 0.9)] if bottom < 350 else []

    def run_with(**settings):
        s = stage(tmp_path, **settings)
        s.detector = ScriptedDetector(against_the_flow)
        s._states["cam-a"].tracker = RenumberingTracker(at=14)
        events, _ = run(s, frames(ALL_GREEN))
        return [e.rule for e in events], s.stats

    # (twins off: at this slow speed the new box overlaps the last one enough to be taken for a
    # twin, which shares the fired rules just the same; a fast vehicle's boxes do not overlap)
    rules, _ = run_with(twin_iou=1.01, stitch_s=0.0)  # not stitched: it measures 4 m afresh, fires again
    assert rules == [Rule.WRONG_WAY, Rule.WRONG_WAY]
    rules, stats = run_with(twin_iou=1.01)
    assert rules == [Rule.WRONG_WAY] and stats["successor_tracks"] == 1
    rules, stats = run_with()
    assert rules == [Rule.WRONG_WAY] and stats["twin_tracks"] == 1


def test_a_lost_track_has_one_successor_and_the_vehicle_beside_it_fires_its_own(tmp_path):
    """seed 9000301: ByteTrack lost a motorbike as a group of four came into view on red; the new
    tracks of it and of two riders beside it all took it for their predecessor and shared one set
    of fired rules, so only the first of them to cross the line was fined."""

    def with_neighbour(i: int) -> list[Detection]:
        out = detections(i)
        car = car_box(i)
        if car is not None and i >= 8:  # a second car 2 m to the right from frame 8 on
            out.append(Detection(ObjectClass.CAR, Box(car.x1 + 40, car.y1, car.x2 + 40, car.y2), 0.9))
        return out

    def run_with(**settings):
        s = stage(tmp_path, dedupe_window_s=0.0, **settings)
        s.detector = ScriptedDetector(with_neighbour)
        s._states["cam-a"].tracker = RenumberingTracker(at=8)  # the first car's track restarts there
        events, _ = run(s, frames(RED_AT_8))
        return events, s.stats

    # twins off: the first car's new track can only be linked to its lost track as its successor
    events, stats = run_with(twin_iou=1.01, stitch_s=0.0)  # not stitched: each new track on its own
    assert [e.rule for e in events] == [Rule.RED_LIGHT, Rule.RED_LIGHT]
    events, stats = run_with(twin_iou=1.01)
    assert [e.rule for e in events] == [Rule.RED_LIGHT, Rule.RED_LIGHT]
    assert stats["successor_tracks"] == 1  # the first car's new track, not its neighbour's
    # twins on: at this slow speed the new track overlaps the lost one's last box, a twin of it;
    # the lost track is taken then, and the neighbour is not its successor either
    events, stats = run_with()
    assert [e.rule for e in events] == [Rule.RED_LIGHT, Rule.RED_LIGHT]
    assert (stats["twin_tracks"], stats["successor_tracks"]) == (1, 0)
