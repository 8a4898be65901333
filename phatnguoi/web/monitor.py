"""What the operator dashboard reads from Kafka, in one daemon thread of the web process:

- the ingest heartbeats on ``cameras.health`` (frames/s sent and frames dropped per camera);
- the consumer lag of each stage's group on its input topic, and how many messages each
  dead-letter topic holds, every ``every_s`` seconds.

The page reads ``snapshot()``, which never blocks on the broker: a broker that is away shows as
an error on the page (and an alert), not as a hung request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heartbeat:
    camera_id: str
    fps: float
    frames_sent: int
    frames_dropped: int
    received_at: float  # time.time()


@dataclass(frozen=True)
class TopicLag:
    topic: str
    group: str
    end: int
    committed: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class Snapshot:
    heartbeats: Mapping[str, Heartbeat] = field(default_factory=dict)
    lags: tuple[TopicLag, ...] = ()
    dead_letters: Mapping[str, int] = field(default_factory=dict)
    updated_at: float | None = None
    error: str | None = None


def parse_heartbeat(value: bytes, received_at: float) -> Heartbeat:
    """One ``cameras.health`` message (``ingest.producer`` writes them); ``ValueError`` names what
    is wrong with a bad one."""
    try:
        body = json.loads(value)
        return Heartbeat(
            camera_id=str(body["camera_id"]),
            fps=float(body.get("fps", 0.0)),
            frames_sent=int(body.get("frames_sent", 0)),
            frames_dropped=int(body.get("frames_dropped", 0)),
            received_at=received_at,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"expected a camera heartbeat (JSON with camera_id), got {value[:80]!r}: {exc}") from exc


class PipelineMonitor:
    """``stages``: input topic -> consumer group (``frames.raw`` -> ``detection``, ...)."""

    def __init__(
        self, bootstrap: str, *, health_topic: str, stages: Mapping[str, str], dlq_suffix: str = ".dlq",
        every_s: float = 5.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.health_topic = health_topic
        self.stages = dict(stages)
        self.dlq_suffix = dlq_suffix
        self.every_s = every_s
        self._snapshot = Snapshot()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)  # type: ignore[arg-type]

    def start(self) -> PipelineMonitor:
        self._thread = threading.Thread(target=self._run, name="pipeline-monitor", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._loop()
            except Exception as exc:  # broker away: show it, retry; the web app keeps serving
                log.warning("pipeline monitor: %r", exc)
                self._update(error=f"{type(exc).__name__}: {exc}"[:300])
                self._stop.wait(self.every_s)

    def _loop(self) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        heartbeats = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                   client_id="phatnguoi-web-monitor")
        offsets = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, client_id="phatnguoi-web-offsets")
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="phatnguoi-web-admin")
        try:
            assigned = False
            next_lag = 0.0
            while not self._stop.is_set():
                if not assigned:
                    parts = heartbeats.partitions_for_topic(self.health_topic)
                    if parts:
                        tps = [TopicPartition(self.health_topic, p) for p in parts]
                        heartbeats.assign(tps)
                        ends = heartbeats.end_offsets(tps)
                        for tp in tps:  # the last few heartbeats: the wall is filled at once
                            heartbeats.seek(tp, max(0, ends[tp] - 200))
                        assigned = True
                if assigned:
                    self._read_heartbeats(heartbeats.poll(timeout_ms=500))
                else:
                    self._stop.wait(0.5)
                if time.monotonic() >= next_lag:
                    self._update(lags=self._lags(offsets, admin), dead_letters=self._dead_letters(offsets),
                                 updated_at=time.time(), error=None)
                    next_lag = time.monotonic() + self.every_s
        finally:
            heartbeats.close()
            offsets.close()
            admin.close()

    def _read_heartbeats(self, batches: Mapping[object, list]) -> None:  # type: ignore[type-arg]
        if not batches:
            return
        now = time.time()
        latest = dict(self.snapshot().heartbeats)
        for records in batches.values():
            for record in records:
                try:
                    beat = parse_heartbeat(record.value, now)
                except ValueError as exc:
                    log.warning("pipeline monitor: %s", exc)
                    continue
                latest[beat.camera_id] = beat
        self._update(heartbeats=latest)

    def _end(self, consumer, topic: str) -> int:  # type: ignore[no-untyped-def]
        from kafka import TopicPartition

        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        return sum(consumer.end_offsets(tps).values()) if tps else 0

    def _lags(self, consumer, admin) -> tuple[TopicLag, ...]:  # type: ignore[no-untyped-def]
        out = []
        for topic, group in self.stages.items():
            committed_offsets = admin.list_group_offsets({group: None}).get(group, {})
            committed = sum(om.offset for tp, om in committed_offsets.items() if tp.topic == topic and om.offset >= 0)
            out.append(TopicLag(topic=topic, group=group, end=self._end(consumer, topic), committed=committed))
        return tuple(out)

    def _dead_letters(self, consumer) -> dict[str, int]:  # type: ignore[no-untyped-def]
        consumer.topics()  # refresh metadata: a DLQ topic appears when its first message is sent
        return {topic + self.dlq_suffix: self._end(consumer, topic + self.dlq_suffix) for topic in self.stages}
