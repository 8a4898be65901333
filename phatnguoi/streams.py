"""The one consume -> process -> produce -> commit loop that every worker runs.

A stage is a plain function ``process(record) -> Iterable[OutMessage]``: it decodes the record,
does its work (including its own durable writes, which must be idempotent), and returns the
messages to send on. The loop sends them, flushes, and only then commits the consumer offsets,
so delivery is at-least-once and a replay is harmless.

Stages raise; they do not swallow. The error policy is injected: by default a record whose
``process`` raises is sent, key, value and headers unchanged, to ``<source_topic>.dlq`` with
``dlq.*`` headers naming the error, the source topic, partition, offset, stage and time, and the
loop moves on (its offset is committed past it). A failure to produce or to commit the outputs
is not a record's fault: it stops the stage, uncommitted, and the records are read again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"
MAX_ERROR_CHARS = 2000
Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class OutMessage:
    """One message a stage wants sent: ``key`` picks the partition (same key, same order)."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: Headers = ()


class ErrorPolicy(Protocol):
    """What to do with a record whose processing raised: return the messages to send instead
    (e.g. one to the DLQ) and the loop moves on, or raise to stop the stage uncommitted."""

    def __call__(
        self, record: ConsumerRecord, error: BaseException, *, stage: str
    ) -> Iterable[OutMessage]: ...


def header(record: ConsumerRecord, name: str) -> bytes | None:
    """The last value of header ``name`` on ``record`` (None when absent)."""
    found = None
    for key, value in record.headers or ():
        if key == name:
            found = value
    return found


def dead_letter(
    record: ConsumerRecord, error: BaseException, *, stage: str, suffix: str = DLQ_SUFFIX
) -> OutMessage:
    """The DLQ copy of ``record``: same key, value and headers, plus the ``dlq.*`` headers."""
    text = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
    extra: Headers = (
        ("dlq.error", text.encode("utf-8", "replace")),
        ("dlq.source_topic", record.topic.encode()),
        ("dlq.source_partition", str(record.partition).encode()),
        ("dlq.source_offset", str(record.offset).encode()),
        ("dlq.source_timestamp", str(record.timestamp).encode()),
        ("dlq.stage", stage.encode()),
        ("dlq.failed_at_ns", str(time.time_ns()).encode()),
    )
    original = tuple((k, v if v is not None else b"") for k, v in (record.headers or ()))
    return OutMessage(
        topic=record.topic + suffix, key=record.key, value=record.value or b"", headers=original + extra
    )


def send_to_dlq(suffix: str = DLQ_SUFFIX) -> ErrorPolicy:
    """The default policy: log the error and send the record to ``<topic><suffix>``."""

    def policy(record: ConsumerRecord, error: BaseException, *, stage: str) -> Iterable[OutMessage]:
        log.warning(
            "%s: %s[%d]@%d -> %s%s: %s: %s",
            stage,
            record.topic,
            record.partition,
            record.offset,
            record.topic,
            suffix,
            type(error).__name__,
            error,
        )
        return [dead_letter(record, error, stage=stage, suffix=suffix)]

    return policy


def stop_stage(record: ConsumerRecord, error: BaseException, *, stage: str) -> Iterable[OutMessage]:
    """A policy that re-raises: the stage stops and the record is read again after a restart."""
    raise error


def make_producer(bootstrap: str, *, client_id: str = "phatnguoi", **overrides: Any) -> KafkaProducer:
    """A producer with the project's settings: acks=all, idempotent, no compression (JPEG does
    not compress), a short linger, batches big enough for a few frames."""
    config: dict[str, Any] = dict(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        compression_type=None,
        linger_ms=5,
        batch_size=1 << 20,
        max_request_size=8 << 20,
        request_timeout_ms=30_000,
    )
    config.update(overrides)
    return KafkaProducer(**config)


def close_producer(producer: KafkaProducer, timeout_s: float = 10.0) -> bool:
    """Flush and close; True if everything was delivered. With the broker away, kafka-python's
    own ``close`` raises from its flush and leaves the sender thread running, so on a timeout
    this abandons the undelivered messages and stops the sender (they were never committed)."""
    try:
        producer.flush(timeout=timeout_s)
        delivered = True
    except KafkaError as exc:
        log.warning("producer: messages undelivered after %.0f s, abandoning them: %r", timeout_s, exc)
        delivered = False
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()
    try:
        producer.close(timeout=0 if not delivered else timeout_s)
    except KafkaError as exc:
        log.warning("producer: close: %r", exc)
    return delivered


def produce(producer: KafkaProducer, messages: Iterable[OutMessage]) -> list[Any]:
    """Send each message; returns the futures (check them after ``flush``)."""
    futures = []
    for m in messages:
        futures.append(producer.send(m.topic, value=m.value, key=m.key, headers=list(m.headers)))
    return futures


@dataclass
class StageStats:
    """Counters a supervisor or a report reads; updated by the stage's own thread only."""

    consumed: int = 0
    processed: int = 0
    produced: int = 0
    dead_lettered: int = 0
    commits: int = 0
    batches: int = 0
    last_offsets: dict[tuple[str, int], int] = field(default_factory=dict)


class _Assignment(ConsumerRebalanceListener):
    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.stage.assigned.clear()

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("%s: assigned %s", self.stage.name, sorted((tp.topic, tp.partition) for tp in assigned))
        if assigned:
            self.stage.assigned.set()


RecordHook = Callable[[ConsumerRecord, float, int, BaseException | None], None]
BatchHook = Callable[[Sequence[ConsumerRecord]], None]


class Stage:
    """One consumer-group member running ``process`` over ``source_topic``.

    ``run(stop)`` loops until ``stop`` is set: poll up to ``max_records``; for each record call
    ``process`` (on error, ``on_error``: the DLQ by default); send the outputs; flush; call
    ``on_batch_durable(records)`` (a stage that batches its writes makes them durable here);
    commit the offsets of the records handled. On stop it commits what is done and closes.
    ``on_record(record, seconds, n_outputs, error)`` is a metrics hook.
    ``assigned`` is set once the group has given this member partitions.
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        source_topic: str,
        group_id: str,
        process: Callable[[ConsumerRecord], Iterable[OutMessage]],
        name: str | None = None,
        on_error: ErrorPolicy | None = None,
        dlq: bool = True,
        dlq_suffix: str = DLQ_SUFFIX,
        on_batch_durable: BatchHook | None = None,
        on_record: RecordHook | None = None,
        poll_timeout_ms: int = 500,
        max_records: int = 50,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
        max_poll_interval_ms: int = 300_000,
        auto_offset_reset: str = "earliest",
        client_id: str | None = None,
        consumer_config: dict[str, Any] | None = None,
        producer_config: dict[str, Any] | None = None,
    ) -> None:
        if max_records < 1:
            raise ValueError(f"max_records: expected at least 1, got {max_records}")
        self.bootstrap = bootstrap
        self.source_topic = source_topic
        self.group_id = group_id
        self.process = process
        self.name = name or group_id
        self.on_error: ErrorPolicy = on_error or (send_to_dlq(dlq_suffix) if dlq else stop_stage)
        self.on_batch_durable = on_batch_durable
        self.on_record = on_record
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.client_id = client_id or f"phatnguoi-{self.name}"
        self.consumer_config: dict[str, Any] = dict(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            max_poll_interval_ms=max_poll_interval_ms,
            max_poll_records=max_records,
        )
        self.consumer_config.update(consumer_config or {})
        self.producer_config = producer_config or {}
        self.stats = StageStats()
        self.assigned = threading.Event()
        self.stopped = threading.Event()

    def run(self, stop: threading.Event) -> StageStats:
        """Run until ``stop`` is set; returns the counters. Raises on produce/commit failure."""
        consumer = KafkaConsumer(**self.consumer_config)
        try:
            producer = make_producer(self.bootstrap, client_id=self.client_id, **self.producer_config)
        except BaseException:
            consumer.close()
            self.stopped.set()
            raise
        try:
            consumer.subscribe([self.source_topic], listener=_Assignment(self))
            while not stop.is_set():
                batch = consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
                if not batch:
                    continue
                records = [r for tp in sorted(batch, key=lambda t: t.partition) for r in batch[tp]]
                self._handle(records, consumer, producer, stop)
        finally:
            self.assigned.clear()
            try:
                close_producer(producer)
            finally:
                consumer.close()
                self.stopped.set()
        return self.stats

    def _handle(
        self,
        records: list[ConsumerRecord],
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        stop: threading.Event,
    ) -> None:
        done: list[ConsumerRecord] = []
        futures: list[Any] = []
        for record in records:
            if stop.is_set():
                break  # the rest stay uncommitted and are read again after a restart
            self.stats.consumed += 1
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                outputs = list(self.process(record))
                self.stats.processed += 1
            except Exception as exc:  # the policy decides; a policy that raises stops the stage
                error = exc
                outputs = list(self.on_error(record, exc, stage=self.name))
                self.stats.dead_lettered += sum(1 for m in outputs if m.topic != record.topic)
            futures.extend(produce(producer, outputs))
            self.stats.produced += len(outputs)
            done.append(record)
            if self.on_record is not None:
                self.on_record(record, time.perf_counter() - started, len(outputs), error)
        if not done:
            return
        producer.flush()
        for future in futures:
            future.get(timeout=0)  # raises the send error, if any: nothing is committed
        if self.on_batch_durable is not None:
            self.on_batch_durable(done)
        self._commit(consumer, done)
        self.stats.batches += 1

    def _commit(self, consumer: KafkaConsumer, records: list[ConsumerRecord]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for r in records:
            offsets[TopicPartition(r.topic, r.partition)] = OffsetAndMetadata(r.offset + 1, "", -1)
        try:
            consumer.commit(offsets=offsets)
        except CommitFailedError as exc:
            # The group rebalanced under us: another member will read these records again,
            # which idempotent stages make harmless.
            log.warning("%s: commit failed after a rebalance, records will be re-read: %s", self.name, exc)
            return
        except KafkaError:
            raise
        self.stats.commits += 1
        for tp, om in offsets.items():
            self.stats.last_offsets[(tp.topic, tp.partition)] = om.offset


def run_stage(*, stop: threading.Event, **kwargs: Any) -> StageStats:
    """``Stage(**kwargs).run(stop)``: see :class:`Stage` for the arguments."""
    return Stage(**kwargs).run(stop)
