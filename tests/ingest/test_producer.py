"""The frames.raw message format and the frame producer (the latter against the real broker)."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from kafka import KafkaConsumer, TopicPartition

from ingest.producer import (
    BadFrame,
    FrameProducer,
    decode_frame,
    decode_pixels,
    encode_frame,
    jpeg_size,
    run_producer,
)
from ingest.types import Frame, SourceKind
from phatnguoi.broker import ensure_topics


def make_frame(camera_id: str = "cam-01", sequence: int = 7, width: int = 64, height: int = 48) -> Frame:
    image = np.zeros((height, width, 3), np.uint8)
    cv2.rectangle(image, (5, 5), (width // 2, height // 2), (0, 200, 255), -1)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return Frame(
        camera_id=camera_id,
        sequence=sequence,
        captured_at_ns=1_760_000_000_123_456_789,
        width=width,
        height=height,
        source=SourceKind.SIMULATOR,
        jpeg=buf.tobytes(),
    )


def as_record(frame: Frame, **changes) -> SimpleNamespace:
    message = encode_frame(frame)
    headers = dict(message.headers)
    for name, value in changes.pop("headers", {}).items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    record = SimpleNamespace(key=message.key, value=message.value, headers=list(headers.items()))
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def test_round_trip_keeps_every_field():
    frame = make_frame()
    message = encode_frame(frame)
    assert message.topic == "frames.raw"
    assert message.key == b"cam-01"
    assert decode_frame(as_record(frame), known_cameras={"cam-01"}) == frame
    assert decode_pixels(frame).shape == (48, 64, 3)
    assert jpeg_size(frame.jpeg) == (64, 48)


def _png() -> bytes:
    return cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))[1].tobytes()


BAD = [
    ("missing header", dict(headers={"sequence": None}), "missing header(s): sequence"),
    ("garbled integer", dict(headers={"sequence": b"seven"}), "header 'sequence': expected an integer"),
    ("negative time", dict(headers={"captured_at": b"-1"}), "header 'captured_at': expected >= 0"),
    ("zero width", dict(headers={"width": b"0"}), "header 'width': expected 1..16384, got 0"),
    ("schema version", dict(headers={"schema_version": b"2"}), "header 'schema_version': expected 1, got 2"),
    ("bad source", dict(headers={"source": b"webcam"}), "header 'source': expected one of"),
    ("binary camera id", dict(headers={"camera_id": b"\xff\xfe"}), "header 'camera_id': expected ASCII"),
    ("key mismatch", dict(key=b"cam-02"), "does not match header camera_id 'cam-01'"),
    ("unknown camera", dict(headers={"camera_id": b"cam-99"}, key=b"cam-99"), "unknown camera 'cam-99'"),
    ("empty value", dict(value=b""), "empty value"),
    ("not a JPEG", dict(value=_png()), "value is not a JPEG"),
    ("truncated JPEG", dict(value=make_frame().jpeg[:300]), "corrupt JPEG: no EOI marker"),
    (
        "garbage between markers",
        dict(value=b"\xff\xd8" + b"\x00" * 20 + b"\xff\xd9"),
        "corrupt JPEG: expected a marker",
    ),
    ("size mismatch", dict(headers={"width": b"65"}), "size mismatch: headers say 65x48, the JPEG is 64x48"),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_frames_are_rejected_with_the_problem_named(case, changes, expected):
    record = as_record(make_frame(), **changes)
    with pytest.raises(BadFrame) as info:
        decode_frame(record, known_cameras={"cam-01", "cam-02"})
    assert expected in str(info.value)


def test_decode_pixels_rejects_a_frame_whose_jpeg_is_another_size():
    frame = make_frame()
    wrong = Frame(**{**frame.__dict__, "width": 100})
    with pytest.raises(BadFrame, match="size mismatch"):
        decode_pixels(wrong)


@pytest.mark.integration
def test_producer_sends_frames_and_heartbeats_through_the_broker(kafka_bootstrap, unique_topic):
    frames_topic, health_topic = unique_topic("frames"), unique_topic("health")
    ensure_topics(kafka_bootstrap, {frames_topic: 2, health_topic: 1}, dlq_suffix=None)
    frames = [make_frame("cam-a" if i % 2 else "cam-b", sequence=i // 2) for i in range(10)]

    producer = FrameProducer(kafka_bootstrap, topic=frames_topic, health_topic=health_topic, heartbeat_s=3600)
    report = run_producer(iter(frames), producer, threading.Event())
    producer.close()  # sends the final heartbeats
    assert (report.frames, report.sent, report.dropped) == (10, 10, 0)

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    parts = [
        TopicPartition(frames_topic, 0),
        TopicPartition(frames_topic, 1),
        TopicPartition(health_topic, 0),
    ]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    received = []
    for _ in range(50):
        for batch in consumer.poll(timeout_ms=200).values():
            received.extend(batch)
        if len(received) >= 12:
            break
    consumer.close()

    decoded = [decode_frame(r, known_cameras={"cam-a", "cam-b"}) for r in received if r.topic == frames_topic]
    assert sorted(decoded, key=lambda f: (f.camera_id, f.sequence)) == sorted(
        frames, key=lambda f: (f.camera_id, f.sequence)
    )
    partitions = {
        f.camera_id: {
            r.partition for r in received if r.topic == frames_topic and r.key == f.camera_id.encode()
        }
        for f in decoded
    }
    assert all(len(p) == 1 for p in partitions.values()), "one camera's frames must share one partition"
    beats = {
        json.loads(r.value)["camera_id"]: json.loads(r.value) for r in received if r.topic == health_topic
    }
    assert set(beats) == {"cam-a", "cam-b"}
    assert beats["cam-a"]["frames_sent"] == 5 and beats["cam-a"]["frames_dropped"] == 0
    assert beats["cam-a"]["last_frame_at_ns"] == frames[1].captured_at_ns


@pytest.mark.integration
def test_paced_producer_sends_frames_at_their_capture_times(kafka_bootstrap, unique_topic):
    topic = unique_topic("frames")
    ensure_topics(kafka_bootstrap, {topic: 1}, dlq_suffix=None)
    base = make_frame()
    frames = [
        Frame(**{**base.__dict__, "sequence": i, "captured_at_ns": base.captured_at_ns + i * 100_000_000})
        for i in range(5)
    ]
    producer = FrameProducer(kafka_bootstrap, topic=topic, health_topic=None, pace=True)
    started = time.monotonic()
    report = run_producer(iter(frames), producer, threading.Event())
    elapsed = time.monotonic() - started
    producer.close()
    assert report.sent == 5
    assert 0.38 <= elapsed < 2.0, f"5 frames 100 ms apart took {elapsed:.2f} s"


def test_run_producer_stops_on_the_stop_event_and_at_the_limit():
    class Recorder:
        def __init__(self) -> None:
            self.sent, self.dropped, self.frames = 0, 0, []

        def send(self, frame):
            self.frames.append(frame)
            self.sent += 1
            return True

        def flush(self):
            pass

    frames = (make_frame(sequence=i) for i in range(100))
    recorder = Recorder()
    assert run_producer(frames, recorder, threading.Event(), limit=3).frames == 3
    stop = threading.Event()
    stop.set()
    assert run_producer(frames, recorder, stop).frames == 0
    assert [f.sequence for f in recorder.frames] == [0, 1, 2]


@pytest.mark.integration
def test_a_stage_decodes_produced_frames_and_dead_letters_a_bad_one(kafka_bootstrap, unique_topic):
    from phatnguoi.streams import OutMessage, Stage, header, make_producer

    frames_topic, out_topic, group = unique_topic("frames"), unique_topic("sizes"), unique_topic("g")
    ensure_topics(kafka_bootstrap, {frames_topic: 2, out_topic: 1})
    producer = FrameProducer(kafka_bootstrap, topic=frames_topic, health_topic=None)
    for i in range(3):
        producer.send(make_frame("cam-a", sequence=i))
    producer.close()
    raw = make_producer(kafka_bootstrap)
    bad = encode_frame(make_frame("cam-a", sequence=3))
    raw.send(frames_topic, key=bad.key, value=bad.value[:200], headers=list(bad.headers))
    raw.close()

    def process(record):
        frame = decode_frame(record, known_cameras={"cam-a"})
        h, w = decode_pixels(frame).shape[:2]
        yield OutMessage(topic=out_topic, key=record.key, value=f"{frame.sequence}:{w}x{h}".encode())

    stop = threading.Event()
    stage = Stage(
        bootstrap=kafka_bootstrap,
        source_topic=frames_topic,
        group_id=group,
        process=process,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        poll_timeout_ms=200,
    )
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while stage.stats.consumed < 4 or stage.stats.commits < 1:
        assert time.monotonic() < deadline, f"stage stuck: {stage.stats}"
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=20)

    assert (stage.stats.processed, stage.stats.dead_lettered) == (3, 1)
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(out_topic, 0), TopicPartition(frames_topic + ".dlq", 0)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    got = []
    for _ in range(50):
        for batch in consumer.poll(timeout_ms=200).values():
            got.extend(batch)
        if len(got) >= 4:
            break
    consumer.close()
    assert sorted(r.value for r in got if r.topic == out_topic) == [b"0:64x48", b"1:64x48", b"2:64x48"]
    [dead] = [r for r in got if r.topic != out_topic]
    assert (
        header(dead, "dlq.error")
        == b"BadFrame: corrupt JPEG: no EOI marker (ff d9) at the end, the image is truncated"
    )
