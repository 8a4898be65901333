"""Evidence: data bar burned in, content-addressed storage, signature breaks on any change."""

from __future__ import annotations

from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from detection import evidence as ev
from detection.evidence import (
    BarInfo,
    BufferedFrame,
    EvidenceInput,
    FrameRing,
    ascii_fold,
    burn_data_bar,
    local_time,
    package_problems,
    signed,
    store_evidence,
    verify_package,
)
from detection.evidence_privacy import FrameObjects, private_regions, sharpness
from detection.evidence_store import FileEvidenceStore
from detection.types import Box, Measurement, ObjectClass, PlateCandidate, Rule, SignalPhase, ViolationEvent
from ingest.camera import CameraConfig

KEY = b"k" * 32
T0 = int(datetime(2026, 11, 22, 10, 49, 47, tzinfo=UTC).timestamp()) * 10**9 + 123_000_000


def camera() -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "cam-hx",
            "name": "Hàng Xanh",
            "address": "Ngã tư Hàng Xanh, Bình Thạnh, TP.HCM",
            "gps": {"lat": 10.8, "lon": 106.7},
            "unit": {"code": "PC08", "name": "Phòng CSGT"},
            "calibration": {"points": [{"image": p, "world": p} for p in [(0, 0), (1, 0), (1, 1), (0, 1)]]},
        }
    )


def frame(seq: int, colour: int = 90) -> BufferedFrame:
    img = np.full((360, 640, 3), colour, np.uint8)
    cv2.rectangle(img, (200, 150), (320, 300), (0, 0, 200), -1)
    ok, buf = cv2.imencode(".jpg", img)
    return BufferedFrame(seq, T0 + seq * 100_000_000, buf.tobytes())


def info() -> BarInfo:
    return BarInfo(
        camera(),
        Rule.RED_LIGHT,
        "red_light@1",
        Measurement(signal_phase=SignalPhase.RED, seconds_since_red=1.234),
        "v-abc",
    )


def test_local_time_is_vietnam_to_the_millisecond():
    assert local_time(T0) == "2026-11-22 17:49:47.123 GMT+07"


def test_ascii_fold():
    assert ascii_fold("Ngã tư Hàng Xanh, Đống Đa") == "Nga tu Hang Xanh, Dong Da"


@pytest.mark.parametrize("fallback", [False, True], ids=["ttf", "no-ttf"])
def test_data_bar_is_burned_in_below_the_image(fallback, monkeypatch):
    if fallback:
        monkeypatch.setattr(ev, "FONT_CANDIDATES", [ev.Path("/nonexistent.ttf")])
        ev.load_font.cache_clear()
    try:
        img = np.full((360, 640, 3), 128, np.uint8)
        out = burn_data_bar(img, info().lines(T0, "at", 7))
    finally:
        ev.load_font.cache_clear()
    assert out.shape[0] > 360 and out.shape[1] == 640
    assert np.array_equal(out[:360], img)  # the scene is not painted over
    bar = out[360:]
    assert (bar.max(axis=2) > 200).sum() > 500  # text pixels drawn on the black bar


def test_vietnamese_text_renders_differently_from_ascii():
    img = np.zeros((100, 640, 3), np.uint8)
    a = burn_data_bar(img, ["Đường Điện Biên Phủ"])
    b = burn_data_bar(img, ["Duong Dien Bien Phu"])
    assert not np.array_equal(a, b)


def test_small_crop_is_upscaled_for_a_legible_bar():
    out = burn_data_bar(np.zeros((20, 60, 3), np.uint8), ["x"])
    assert out.shape[1] == 640


def test_frame_ring_bounded_and_ordered():
    ring = FrameRing(3)
    for s in (1, 2, 4, 5):
        ring.append(frame(s))
    assert len(ring) == 3 and ring.nearest(1).sequence == 2
    assert ring.nearest(3, direction=-1).sequence == 2
    assert ring.nearest(3, direction=1).sequence == 4
    assert ring.nearest(9, direction=1) is None
    with pytest.raises(ValueError, match="increasing"):
        ring.append(frame(5))


def build(tmp_path):
    store = FileEvidenceStore(tmp_path)
    plate = np.full((30, 90, 3), 255, np.uint8)
    source = EvidenceInput(
        frame(1),
        frame(5),
        frame(9),
        Box(200, 150, 320, 300),
        plate,
        4,
        T0,
        strip=(frame(1), frame(5), frame(9)),
    )
    refs = store_evidence(source, info(), store)
    event = ViolationEvent(
        violation_id="v-abc",
        camera_id="cam-hx",
        rule=Rule.RED_LIGHT,
        rule_version="red_light@1",
        occurred_at=datetime.fromtimestamp(T0 / 1e9, UTC),
        frame_sequence=5,
        track_id=3,
        vehicle_class="car",
        plate_candidates=[
            PlateCandidate(
                text="51A12345", confidence=0.9, votes=3, frame_sequence=4, valid=True, layout="one-row"
            )
        ],
        plate_text="51A12345",
        plate_confidence=0.9,
        needs_manual_plate=False,
        measurement=info().measurement,
        evidence=refs,
        model_versions={"detector": "d1"},
        thresholds={"red_grace_s": 0.5},
    )
    return store, signed(event, KEY)


def test_package_roles_and_verification(tmp_path):
    store, event = build(tmp_path)
    assert [r.role for r in event.evidence] == ["before", "at", "after", "vehicle", "plate", "strip"]
    assert all(store.exists(r.key) for r in event.evidence)
    images = [
        cv2.imdecode(np.frombuffer(store.get(r.key), np.uint8), cv2.IMREAD_COLOR) for r in event.evidence
    ]
    assert all(img is not None and img.shape[1] >= 640 for img in images)
    assert verify_package(event, key=KEY, store=store)
    # evidence order does not matter for the signature
    assert verify_package(event.model_copy(update={"evidence": event.evidence[::-1]}), key=KEY)


@pytest.mark.parametrize(
    "field, value",
    [
        ("measurement", Measurement(signal_phase=SignalPhase.RED, seconds_since_red=0.2)),
        ("plate_text", "51A12346"),
        ("rule_version", "red_light@2"),
        ("model_versions", {"detector": "d2"}),
        ("thresholds", {"red_grace_s": 2.0}),
        ("occurred_at", datetime(2026, 1, 1, tzinfo=UTC)),
        ("camera_id", "cam-other"),
    ],
)
def test_changing_a_field_breaks_the_signature(tmp_path, field, value):
    _, event = build(tmp_path)
    assert not verify_package(event.model_copy(update={field: value}), key=KEY)


def test_changing_an_image_reference_or_key_breaks_it(tmp_path):
    store, event = build(tmp_path)
    refs = list(event.evidence)
    other = "0" * 64
    refs[1] = refs[1].model_copy(update={"sha256": other, "key": other})
    assert not verify_package(event.model_copy(update={"evidence": refs}), key=KEY)
    assert not verify_package(event, key=b"x" * 32)


def test_tampered_image_in_store_is_detected(tmp_path):
    store, event = build(tmp_path)
    at = next(r for r in event.evidence if r.role == "at")
    store.path_for(at.key).write_bytes(b"edited image")
    assert verify_package(event, key=KEY)  # the signature alone cannot see the store
    problems = package_problems(event, key=KEY, store=store)
    assert len(problems) == 1 and problems[0].startswith("at:")


def test_short_key_refused(tmp_path):
    _, event = build(tmp_path)
    with pytest.raises(ValueError, match="16 bytes"):
        signed(event, b"short")


def test_each_image_shows_the_phase_when_it_was_taken():
    from dataclasses import replace

    cam = camera().model_copy(update={"signal": {"region": (0, 0, 10, 30)}})
    bar = replace(info(), camera=cam, phase_at=lambda t: SignalPhase.YELLOW if t < T0 else SignalPhase.RED)
    assert "Đèn: VÀNG" in " ".join(bar.lines(T0 - 1, "before", 1))
    assert "Đèn: ĐỎ" in " ".join(bar.lines(T0, "at", 2))
    assert "Đèn" not in " ".join(info().lines(T0, "at", 2))  # a camera without a signal


def test_long_lines_wrap_at_separators_inside_the_image():
    line = " | ".join(f"field number {i} with some words" for i in range(12))
    out = burn_data_bar(np.zeros((100, 640, 3), np.uint8), [line])
    one = burn_data_bar(np.zeros((100, 640, 3), np.uint8), ["short"])
    assert out.shape[0] > one.shape[0] + 3 * (one.shape[0] - 100) // 2  # several lines
    assert out[100:, -4:].max() < 60  # nothing drawn up to the right edge


def test_the_vehicle_is_outlined_on_the_frames(tmp_path):
    store = FileEvidenceStore(tmp_path)
    box = Box(200, 150, 320, 300)
    source = EvidenceInput(frame(1), frame(5), frame(9), box, boxes={1: Box(100, 100, 150, 150)})
    refs = {r.role: r for r in store_evidence(source, info(), store)}
    at = cv2.imdecode(np.frombuffer(store.get(refs["at"].key), np.uint8), cv2.IMREAD_COLOR)
    before = cv2.imdecode(np.frombuffer(store.get(refs["before"].key), np.uint8), cv2.IMREAD_COLOR)
    after = cv2.imdecode(np.frombuffer(store.get(refs["after"].key), np.uint8), cv2.IMREAD_COLOR)
    magenta = np.array([255, 0, 255])
    assert np.abs(at[147, 250].astype(int) - magenta).max() < 60  # top edge of the outline
    assert np.abs(before[97, 125].astype(int) - magenta).max() < 60
    assert np.abs(after[147, 250].astype(int) - magenta).max() > 100  # no box known there


# --- public copies: bystanders blurred -----------------------------------------------------------

VIOLATOR_PLATE = Box(230, 250, 300, 275)  # on the violator's car (tracker id 7)
BYSTANDER_PLATE = Box(460, 250, 530, 275)  # on another car (tracker id 8)
MOTORBIKE = Box(60, 120, 140, 300)  # a rider beside them (tracker id 9)


def _text_patch(img: np.ndarray, box: Box) -> None:
    """Plate-like high-frequency detail: black characters on white."""
    x1, y1, x2, y2 = (int(v) for v in (box.x1, box.y1, box.x2, box.y2))
    img[y1:y2, x1:x2] = 255
    cv2.putText(img, "51A-123", (x1 + 2, y2 - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)


def busy_frame(seq: int) -> BufferedFrame:
    rng = np.random.default_rng(seq)
    img = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(img, (200, 150), (320, 300), (0, 0, 200), -1)
    cv2.rectangle(img, (430, 150), (560, 300), (200, 0, 0), -1)
    img[120:188, 60:140] = rng.integers(0, 255, (68, 80, 3), dtype=np.uint8)  # a rider's head: detail
    _text_patch(img, VIOLATOR_PLATE)
    _text_patch(img, BYSTANDER_PLATE)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    objects = FrameObjects(
        vehicles=(
            (7, ObjectClass.CAR, Box(200, 150, 320, 300)),
            (8, ObjectClass.CAR, Box(430, 150, 560, 300)),
            (9, ObjectClass.MOTORBIKE, MOTORBIKE),
        ),
        plates=((VIOLATOR_PLATE, 7), (BYSTANDER_PLATE, 8)),
    )
    return BufferedFrame(seq, T0 + seq * 100_000_000, buf.tobytes(), objects)


def _image(store: FileEvidenceStore, ref) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(store.get(ref.key), np.uint8), cv2.IMREAD_COLOR)


def test_public_copies_blur_bystanders_and_keep_the_violator_plate(tmp_path):
    store = FileEvidenceStore(tmp_path)
    frames_ = [busy_frame(s) for s in (1, 5, 9)]
    source = EvidenceInput(
        *frames_, Box(200, 150, 320, 300), np.full((30, 90, 3), 255, np.uint8), 4, T0,
        strip=tuple(frames_), violator=7,
    )
    refs = {r.role: r for r in store_evidence(source, info(), store)}
    originals = ("before", "at", "after", "vehicle", "plate", "strip")
    assert set(refs) == set(originals) | {f"{r}_public" for r in originals}
    original, public = _image(store, refs["at"]), _image(store, refs["at_public"])
    assert refs["at"].sha256 != refs["at_public"].sha256  # both kept, each content-addressed
    # the violator's plate stays as sharp as in the original
    assert sharpness(public, VIOLATOR_PLATE) == pytest.approx(sharpness(original, VIOLATOR_PLATE), rel=0.1)
    # the bystander's plate and the rider's head lose their detail
    assert sharpness(original, BYSTANDER_PLATE) > 1000
    assert sharpness(public, BYSTANDER_PLATE) < 0.05 * sharpness(original, BYSTANDER_PLATE)
    head = Box(MOTORBIKE.x1, MOTORBIKE.y1, MOTORBIKE.x2, MOTORBIKE.y1 + 60)
    assert sharpness(public, head) < 0.05 * sharpness(original, head)
    # outside the private regions the public copy is the original
    assert np.abs(public[:100, 300:].astype(int) - original[:100, 300:].astype(int)).mean() < 2


def test_no_public_copy_without_knowing_what_was_on_the_frame(tmp_path):
    store = FileEvidenceStore(tmp_path)
    source = EvidenceInput(frame(1), frame(5), frame(9), Box(200, 150, 320, 300), violator=7)
    roles = {r.role for r in store_evidence(source, info(), store)}
    assert roles == {"before", "at", "after", "vehicle"}


def test_a_plate_no_vehicle_holds_is_blurred():
    objects = FrameObjects(plates=((VIOLATOR_PLATE, 7), (BYSTANDER_PLATE, None)))
    assert private_regions(objects, 7) == [BYSTANDER_PLATE]
    assert private_regions(objects, None) == [VIOLATOR_PLATE, BYSTANDER_PLATE]


def test_frame_ring_annotate():
    ring = FrameRing(4)
    for s in (1, 2, 3):
        ring.append(frame(s))
    objects = FrameObjects(plates=((VIOLATOR_PLATE, 7),))
    ring.annotate(2, objects)
    ring.annotate(9, objects)  # gone or never there: nothing happens
    assert ring.nearest(2).objects == objects and ring.nearest(3).objects is None
