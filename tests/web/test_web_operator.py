"""The operator's screens and their data path: the detection worker's camera watch writes health
and an annotated preview into ``camera_status``; the wall turns a camera red and lists an alert;
intake holds the camera's new cases; the live view streams MJPEG; the Kafka monitor reads
heartbeats and consumer lag from the real broker."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from builders import violation_event
from web_helpers import login

from cases.accounts import create_user
from cases.intake import ingest_violation
from cases.models import CameraStatus
from detection.types import Box, Detection, ObjectClass
from ingest.camera import load_cameras
from ingest.health import HealthSettings
from ingest.types import Frame, SourceKind
from phatnguoi.camera_watch import CameraWatch
from phatnguoi.web.monitor import PipelineMonitor, parse_heartbeat

CAMERAS = load_cameras(Path(__file__).resolve().parents[2] / "ingest" / "cameras")
CAMERA = "sim-intersection-01"


def street(seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((720, 1280, 3), 100, np.uint8)
    for _ in range(50):
        x, y = int(rng.integers(0, 1200)), int(rng.integers(0, 400))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(30, 150)), y + int(rng.integers(30, 150))),
                      tuple(int(c) for c in rng.integers(30, 230, 3)), -1)
    return img


def frame(seq: int) -> Frame:
    return Frame(camera_id=CAMERA, sequence=seq, captured_at_ns=time.time_ns() + seq * 10**9, width=1280,
                 height=720, source=SourceKind.SIMULATOR,
                 jpeg=b"")


CAR = [Detection(ObjectClass.CAR, Box(500, 500, 700, 640), 0.9, track_id=3),
       Detection(ObjectClass.PLATE, Box(570, 600, 630, 620), 0.8)]


def watch(web_db) -> CameraWatch:  # type: ignore[no-untyped-def]
    # every_s=0: judge every frame here; confirm=2 so a verdict needs two frames in a row
    return CameraWatch(web_db, CAMERAS, every_s=0.0, settings=HealthSettings(learn_frames=2, confirm=2))


def test_watch_writes_health_and_an_annotated_preview(web_db):
    hook = watch(web_db)
    base = street()
    for seq in range(4):
        moved = base.copy()
        cv2.circle(moved, (100 + 40 * seq, 650), 30, (0, 0, 255), -1)  # something moves
        hook(frame(seq), moved, CAR)
    with web_db() as session:
        row = session.get(CameraStatus, CAMERA)
        assert row.verdict == "healthy", row.detail
        assert row.detections == 1 and row.frames_processed == 4
        preview = cv2.imdecode(np.frombuffer(row.preview_jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert preview.shape[1] == 640
        # the vehicle box is drawn (green) where the car was, scaled by 0.5
        assert preview[250, 250:350, 1].max() > 150 and preview[250, 250:350, 2].min() < 120
    for seq in range(4, 7):
        hook(frame(seq), np.full_like(base, 128), [])  # lens covered
    with web_db() as session:
        row = session.get(CameraStatus, CAMERA)
        assert row.verdict == "covered"
        assert row.holds_new_cases(datetime.now(UTC))
        case = ingest_violation(session, violation_event(camera_id=CAMERA, track="held", occurred_at=datetime.now(UTC)))
        assert case.held_for_review and "covered" in (case.hold_reason or "")
        session.rollback()


def test_a_silent_camera_holds_cases_too(web_db):
    with web_db() as session:
        session.add(CameraStatus(camera_id=CAMERA, verdict="healthy", detail="ok",
                                 last_frame_at=datetime.now(UTC) - timedelta(minutes=5), silent_after_s=10))
        session.commit()
        row = session.get(CameraStatus, CAMERA)
        assert row.effective_verdict(datetime.now(UTC)) == "silent"


def test_the_watch_never_stops_detection(web_db, caplog):
    hook = watch(web_db)
    hook(frame(0), np.zeros((0,), np.uint8), [])  # an impossible image: logged, not raised
    assert "camera watch" in caplog.text


@pytest.fixture
def operator_client(client, web_db):  # type: ignore[no-untyped-def]
    with web_db() as session:
        create_user(session, username="ops", role="operator", password="operator-password-1")
        session.commit()
    login(client, "ops", "operator-password-1")
    return client


def test_wall_turns_an_unhealthy_camera_red_and_lists_an_alert(operator_client, web_db):
    hook = watch(web_db)
    for seq in range(3):
        hook(frame(seq), street(), CAR)
    with web_db() as session:
        session.add(CameraStatus(camera_id="cam-frozen", verdict="frozen", detail="no change for 40 s",
                                 last_frame_at=datetime.now(UTC)))
        session.commit()
    page = operator_client.get("/operator/").text
    assert 'data-camera="sim-intersection-01"' in page and 'data-camera="cam-frozen"' in page
    red = page.split('data-camera="cam-frozen"')[0].rsplit("<article", 1)[1]
    assert "cam-bad" in red
    assert "Hình ảnh đứng yên" in page and "Camera cam-frozen: hình ảnh đứng yên" in page
    assert "không kết nối Kafka" in page  # this app has no monitor
    wall = operator_client.get("/api/operator/cameras").json()
    by_id = {t["camera_id"]: t for t in wall}
    assert by_id["cam-frozen"]["verdict"] == "frozen" and by_id[CAMERA]["has_preview"] is True


def test_live_view_is_an_mjpeg_stream_of_the_preview(operator_client, web_db):
    hook = watch(web_db)
    hook(frame(0), street(), CAR)
    page = operator_client.get(f"/operator/cameras/{CAMERA}").text
    assert f'src="/operator/cameras/{CAMERA}/live.mjpg"' in page
    response = operator_client.get(f"/operator/cameras/{CAMERA}/live.mjpg?frames=2")
    assert response.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
    parts = response.content.split(b"--frame\r\n")[1:]
    assert len(parts) == 2
    head, body = parts[0].split(b"\r\n\r\n", 1)
    assert b"Content-Type: image/jpeg" in head and body.startswith(b"\xff\xd8")
    assert operator_client.get("/operator/cameras/nope/live.mjpg").status_code == 404


def test_heartbeats_are_checked():
    beat = parse_heartbeat(b'{"camera_id": "c1", "fps": 9.5, "frames_sent": 10, "frames_dropped": 2}', 1.0)
    assert (beat.camera_id, beat.fps, beat.frames_dropped) == ("c1", 9.5, 2)
    with pytest.raises(ValueError, match="expected a camera heartbeat"):
        parse_heartbeat(b"not json", 1.0)


@pytest.mark.integration
def test_monitor_reads_heartbeats_and_lag_from_the_broker(kafka_bootstrap, unique_topic):
    from kafka import KafkaProducer

    from phatnguoi.broker import ensure_topics

    health, frames = unique_topic("health"), unique_topic("frames")
    ensure_topics(kafka_bootstrap, {health: 1, frames: 1})
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for _ in range(3):
        producer.send(frames, b"x")
        producer.flush()  # one batch each: the embedded broker advances offsets per batch
    producer.send(health, key=b"cam-9", value=json.dumps(
        {"camera_id": "cam-9", "fps": 10.0, "frames_sent": 3, "frames_dropped": 1}).encode())
    producer.send(health, value=b"garbage")  # logged and skipped
    producer.flush()
    producer.close()
    monitor = PipelineMonitor(kafka_bootstrap, health_topic=health, stages={frames: "nobody-reads-this"},
                              every_s=0.5).start()
    try:
        deadline = time.monotonic() + 30
        snap = monitor.snapshot()
        while time.monotonic() < deadline and not ("cam-9" in snap.heartbeats and snap.lags):
            time.sleep(0.3)
            snap = monitor.snapshot()
    finally:
        monitor.close()
    assert snap.heartbeats["cam-9"].frames_dropped == 1
    assert [(lag.topic, lag.end, lag.lag) for lag in snap.lags] == [(frames, 3, 3)]
    assert snap.dead_letters == {frames + ".dlq": 0}


def test_detection_stage_feeds_the_watch_wired_by_the_worker(web_db, tmp_path):
    """The detection stage calls its on_frame hook with every decoded frame and its tracked
    objects; ``phatnguoi.workers.camera_watch`` is the hook the worker installs."""
    from detection.evidence_store import FileEvidenceStore
    from detection.fakes import IouTracker, ScriptedDetector, ScriptedReader
    from detection.pipeline import DetectionStage
    from phatnguoi import workers
    from phatnguoi.settings import Settings

    settings = Settings(var_dir=tmp_path, database_url=str(web_db.kw["bind"].url))
    hook = workers.camera_watch(settings, CAMERAS)
    assert isinstance(hook, CameraWatch)
    seen: list[int] = []

    def on_frame(f: Frame, image: np.ndarray, detections: list[Detection]) -> None:
        seen.append(len(detections))
        hook(f, image, detections)

    stage = DetectionStage(CAMERAS, detector=ScriptedDetector(lambda n: CAR), reader=ScriptedReader("51A12345"),
                           store=FileEvidenceStore(tmp_path / "ev"), signing_key=b"k" * 16,
                           tracker_factory=IouTracker, model_versions={}, on_frame=on_frame)
    jpeg = cv2.imencode(".jpg", street())[1].tobytes()
    for seq in range(3):
        stage.process(Frame(camera_id=CAMERA, sequence=seq, captured_at_ns=time.time_ns(), width=1280, height=720,
                            source=SourceKind.SIMULATOR, jpeg=jpeg))
    assert seen == [2, 2, 2]  # the car (tracked) and its plate, every frame
    with web_db() as session:
        row = session.get(CameraStatus, CAMERA)
        assert row is not None and row.preview_jpeg and row.detections == 1
    assert (tmp_path / "reference").exists() is False  # learning needs 5 samples a second apart


def test_a_camera_never_seen_is_shown_grey_without_an_alert(operator_client, web_db):
    from cases.models import Camera

    with web_db() as session:
        session.add(Camera(id="cam-new", name="Ngã tư mới", address="chưa lắp"))
        session.commit()
    page = operator_client.get("/operator/").text
    tile = page.split('data-camera="cam-new"')[0].rsplit("<article", 1)[1]
    assert "cam-unknown" in tile and "Chưa có dữ liệu" in page
    assert "Camera cam-new" not in page  # no alert: intake holds nothing for it either
