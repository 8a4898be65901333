"""The ``frames.raw`` message format, and the producer that sends camera frames to it.

A frame message: key = camera_id (one camera's frames stay on one partition, in order),
value = the JPEG bytes, headers (ASCII) = ``camera_id``, ``captured_at`` (UTC ns), ``sequence``,
``width``, ``height``, ``source``, ``schema_version``. :func:`encode_frame` and
:func:`decode_frame` are the only places that know this layout.

The producer also sends a heartbeat per camera to ``cameras.health`` every few seconds: a JSON
object with ``camera_id``, frames sent and dropped, the frame rate over the last interval and the
time of the last frame.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from kafka.errors import KafkaError, KafkaTimeoutError

from ingest.types import FRAMES_SCHEMA_VERSION, Frame, SourceKind
from phatnguoi.streams import OutMessage, close_producer, make_producer

log = logging.getLogger(__name__)

FRAMES_TOPIC = "frames.raw"
HEALTH_TOPIC = "cameras.health"
HEALTH_SCHEMA_VERSION = 1
HEADER_NAMES = ("camera_id", "captured_at", "sequence", "width", "height", "source", "schema_version")
MAX_SIDE = 16384
_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG), CC (DAC) are not SOFs.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class BadFrame(ValueError):
    """A ``frames.raw`` message that cannot be used; the message names the problem."""


def encode_frame(frame: Frame, *, topic: str = FRAMES_TOPIC) -> OutMessage:
    """The ``frames.raw`` message for ``frame``."""
    headers = (
        ("camera_id", frame.camera_id.encode()),
        ("captured_at", str(frame.captured_at_ns).encode()),
        ("sequence", str(frame.sequence).encode()),
        ("width", str(frame.width).encode()),
        ("height", str(frame.height).encode()),
        ("source", str(frame.source).encode()),
        ("schema_version", str(FRAMES_SCHEMA_VERSION).encode()),
    )
    return OutMessage(topic=topic, key=frame.camera_id.encode(), value=frame.jpeg, headers=headers)


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) read from the JPEG's start-of-frame segment, without decoding.

    Raises :class:`BadFrame` when ``data`` is not a complete JPEG (no SOI/EOI markers, truncated
    segments, no start-of-frame segment).
    """
    if len(data) < 4 or not data.startswith(_SOI):
        raise BadFrame(
            f"value is not a JPEG: expected the SOI marker ff d8, got {data[:2].hex(' ') or 'nothing'}"
        )
    if not data.rstrip(b"\x00").endswith(_EOI):
        raise BadFrame("corrupt JPEG: no EOI marker (ff d9) at the end, the image is truncated")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise BadFrame(f"corrupt JPEG: expected a marker at byte {pos}, got {data[pos]:#04x}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise BadFrame(f"corrupt JPEG: segment {marker:#04x} at byte {pos} runs past the end")
        if marker in _SOF_MARKERS:
            if length < 7:
                raise BadFrame(f"corrupt JPEG: start-of-frame segment too short ({length} bytes)")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker == 0xDA:  # start of scan before any SOF
            break
        pos += 2 + length
    raise BadFrame("corrupt JPEG: no start-of-frame segment before the image data")


def _header_map(record: Any) -> dict[str, bytes]:
    headers: dict[str, bytes] = {}
    for key, value in record.headers or ():
        headers[key] = value if value is not None else b""
    return headers


def _int_header(headers: dict[str, bytes], name: str, *, minimum: int, maximum: int | None = None) -> int:
    raw = headers[name]
    try:
        value = int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise BadFrame(f"header {name!r}: expected an integer, got {raw[:40]!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise BadFrame(f"header {name!r}: expected {bound}, got {value}")
    return value


def decode_frame(record: Any, *, known_cameras: Container[str] | None = None) -> Frame:
    """The :class:`Frame` in a ``frames.raw`` record (a kafka ``ConsumerRecord`` or anything with
    ``key``, ``value`` and ``headers``); raises :class:`BadFrame` naming what is wrong.

    Checks the headers, the key, the camera (when ``known_cameras`` is given), and that the value
    is a complete JPEG whose own size matches the headers. It does not decode pixels: call
    :func:`decode_pixels` where the consumer needs them anyway.
    """
    headers = _header_map(record)
    missing = [name for name in HEADER_NAMES if name not in headers]
    if missing:
        raise BadFrame(f"missing header(s): {', '.join(missing)}")
    version = _int_header(headers, "schema_version", minimum=0)
    if version != FRAMES_SCHEMA_VERSION:
        raise BadFrame(f"header 'schema_version': expected {FRAMES_SCHEMA_VERSION}, got {version}")
    try:
        camera_id = headers["camera_id"].decode("ascii")
    except UnicodeDecodeError:
        raise BadFrame(f"header 'camera_id': expected ASCII, got {headers['camera_id'][:40]!r}") from None
    if not camera_id:
        raise BadFrame("header 'camera_id' is empty")
    if record.key is not None and record.key != headers["camera_id"]:
        raise BadFrame(f"key {record.key[:40]!r} does not match header camera_id {camera_id!r}")
    if known_cameras is not None and camera_id not in known_cameras:
        raise BadFrame(f"unknown camera {camera_id!r}")
    try:
        source = SourceKind(headers["source"].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        known = ", ".join(k.value for k in SourceKind)
        raise BadFrame(f"header 'source': expected one of {known}, got {headers['source'][:40]!r}") from None
    captured_at = _int_header(headers, "captured_at", minimum=0)
    sequence = _int_header(headers, "sequence", minimum=0)
    width = _int_header(headers, "width", minimum=1, maximum=MAX_SIDE)
    height = _int_header(headers, "height", minimum=1, maximum=MAX_SIDE)
    value = record.value or b""
    if not value:
        raise BadFrame("empty value: expected JPEG bytes")
    actual = jpeg_size(value)
    if actual != (width, height):
        raise BadFrame(f"size mismatch: headers say {width}x{height}, the JPEG is {actual[0]}x{actual[1]}")
    return Frame(
        camera_id=camera_id,
        sequence=sequence,
        captured_at_ns=captured_at,
        width=width,
        height=height,
        source=source,
        jpeg=bytes(value),
    )


def decode_pixels(frame: Frame) -> np.ndarray:
    """The frame's BGR pixels; :class:`BadFrame` if the JPEG does not decode to the frame's size."""
    image = cv2.imdecode(np.frombuffer(frame.jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadFrame(f"corrupt JPEG: camera {frame.camera_id!r} frame {frame.sequence} does not decode")
    if image.shape[:2] != (frame.height, frame.width):
        raise BadFrame(
            f"size mismatch: headers say {frame.width}x{frame.height}, "
            f"decoded {image.shape[1]}x{image.shape[0]}"
        )
    return image


@dataclass
class CameraCounters:
    sent: int = 0
    dropped: int = 0
    last_frame_at_ns: int | None = None
    sent_at_last_heartbeat: int = 0
    last_heartbeat_mono: float = field(default_factory=time.monotonic)


class FrameProducer:
    """Sends frames to ``frames.raw`` and heartbeats to ``cameras.health``.

    ``pace=True`` sends each frame when it is due by its ``captured_at`` relative to the first
    frame (for video files and the simulator; live sources arrive in real time already).
    A frame the client cannot take within ``max_block_ms`` (buffer full, broker away) or whose
    delivery fails is counted as dropped, never retried: stale frames are worth less than new ones.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        topic: str = FRAMES_TOPIC,
        health_topic: str | None = HEALTH_TOPIC,
        heartbeat_s: float = 5.0,
        pace: bool = False,
        client_id: str = "phatnguoi-ingest",
        max_block_ms: int = 2000,
        producer: Any = None,
    ) -> None:
        self.topic = topic
        self.health_topic = health_topic
        self.heartbeat_s = heartbeat_s
        self.pace = pace
        self._producer = producer or make_producer(bootstrap, client_id=client_id, max_block_ms=max_block_ms)
        self._lock = threading.Lock()
        self.cameras: dict[str, CameraCounters] = {}
        self._pace_origin: tuple[float, int] | None = None

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.cameras.values())

    @property
    def dropped(self) -> int:
        return sum(c.dropped for c in self.cameras.values())

    def send(self, frame: Frame) -> bool:
        """Queue ``frame``; False if it was dropped. Sends due heartbeats."""
        if self.pace:
            self._wait_until_due(frame.captured_at_ns)
        counters = self.cameras.setdefault(frame.camera_id, CameraCounters())
        message = encode_frame(frame, topic=self.topic)
        try:
            future = self._producer.send(
                message.topic, key=message.key, value=message.value, headers=list(message.headers)
            )
        except (KafkaTimeoutError, BufferError) as exc:
            log.warning("camera %s: frame %d dropped: %s", frame.camera_id, frame.sequence, exc)
            with self._lock:
                counters.dropped += 1
            return False
        future.add_errback(self._on_failed, frame.camera_id)
        with self._lock:
            counters.sent += 1
            counters.last_frame_at_ns = frame.captured_at_ns
        self.heartbeat()
        return True

    def _on_failed(self, camera_id: str, error: Exception) -> None:
        log.warning("camera %s: frame delivery failed: %r", camera_id, error)
        with self._lock:
            counters = self.cameras[camera_id]
            counters.sent -= 1
            counters.dropped += 1

    def _wait_until_due(self, captured_at_ns: int) -> None:
        now = time.monotonic()
        if self._pace_origin is None:
            self._pace_origin = (now, captured_at_ns)
            return
        start_mono, start_ns = self._pace_origin
        delay = start_mono + (captured_at_ns - start_ns) / 1e9 - now
        if delay > 0:
            time.sleep(delay)

    def heartbeat(self, *, force: bool = False) -> int:
        """Send the heartbeats that are due (all with ``force``); returns how many were sent."""
        if self.health_topic is None:
            return 0
        now = time.monotonic()
        count = 0
        for camera_id, c in list(self.cameras.items()):
            elapsed = now - c.last_heartbeat_mono
            if not force and elapsed < self.heartbeat_s:
                continue
            with self._lock:
                fps = (c.sent - c.sent_at_last_heartbeat) / elapsed if elapsed > 0 else 0.0
                body = {
                    "schema_version": HEALTH_SCHEMA_VERSION,
                    "kind": "camera",
                    "camera_id": camera_id,
                    "frames_sent": c.sent,
                    "frames_dropped": c.dropped,
                    "fps": round(fps, 2),
                    "last_frame_at_ns": c.last_frame_at_ns,
                    "sent_at_ns": time.time_ns(),
                }
                c.sent_at_last_heartbeat, c.last_heartbeat_mono = c.sent, now
            try:
                self._producer.send(
                    self.health_topic, key=camera_id.encode(), value=json.dumps(body).encode()
                )
                count += 1
            except KafkaError as exc:
                log.warning("camera %s: heartbeat not sent: %r", camera_id, exc)
        return count

    def flush(self, timeout_s: float | None = 30.0) -> None:
        self._producer.flush(timeout=timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Send a last heartbeat, flush and close. Frames still undelivered after ``timeout_s``
        (broker away) are abandoned with a warning rather than blocking shutdown."""
        self.heartbeat(force=True)
        close_producer(self._producer, timeout_s)

    def __enter__(self) -> FrameProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ProducerReport:
    frames: int
    sent: int
    dropped: int
    seconds: float


def run_producer(
    source: Iterable[Frame], producer: FrameProducer, stop: threading.Event, *, limit: int | None = None
) -> ProducerReport:
    """Send frames from ``source`` until it ends, ``limit`` frames were read, or ``stop`` is set;
    then flush. The producer stays open (the caller closes it)."""
    started = time.monotonic()
    sent_before, dropped_before = producer.sent, producer.dropped
    frames = 0
    for frame in source:
        if stop.is_set():
            break
        producer.send(frame)
        frames += 1
        if limit is not None and frames >= limit:
            break
    producer.flush()
    return ProducerReport(
        frames=frames,
        sent=producer.sent - sent_before,
        dropped=producer.dropped - dropped_before,
        seconds=time.monotonic() - started,
    )
