"""The shared stream loop against the real embedded broker: outputs, commits, DLQ, restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from phatnguoi.broker import ensure_topics
from phatnguoi.streams import OutMessage, Stage, StageStats, header, make_producer

pytestmark = pytest.mark.integration

FAST_GROUP = dict(session_timeout_ms=6000, heartbeat_interval_ms=500, poll_timeout_ms=200)


def send_all(
    bootstrap: str, topic: str, items: list[tuple[bytes, bytes]], partition: int | None = None
) -> None:
    producer = make_producer(bootstrap)
    for key, value in items:
        producer.send(topic, key=key, value=value, partition=partition, headers=[("origin", b"test")])
    producer.flush()
    producer.close()


def read_all(bootstrap: str, topic: str, expect: int, timeout_s: float = 10.0) -> list[ConsumerRecord]:
    """Every record on ``topic`` (no group), waiting until at least ``expect`` have arrived."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
        if len(records) >= expect:
            time.sleep(0.2)  # and nothing more than expected
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            break
    consumer.close()
    return records


def committed(bootstrap: str, group: str) -> dict[int, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in offsets.items()}


class Running:
    """A stage on a thread; ``until(cond)`` waits for a condition on its stats."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.stage.run(self.stop)
        except BaseException as exc:  # surfaced to the test by finish()
            self.error = exc

    def until(self, cond: Callable[[StageStats], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not cond(self.stage.stats):
            if self.error is not None or not self.thread.is_alive():
                break
            time.sleep(0.05)
        assert cond(self.stage.stats), f"timed out: stats={self.stage.stats} error={self.error!r}"

    def finish(self) -> StageStats:
        self.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the stage did not stop within 20 s of the stop event"
        return self.stage.stats


def upper_to(out_topic: str, seen: list[bytes]) -> Callable[[ConsumerRecord], list[OutMessage]]:
    def process(record: ConsumerRecord) -> list[OutMessage]:
        if record.value == b"bad":
            raise ValueError("expected a lower-case word, got b'bad'")
        seen.append(record.value)
        return [OutMessage(topic=out_topic, key=record.key, value=record.value.upper())]

    return process


def test_outputs_are_produced_and_offsets_committed(kafka_bootstrap, unique_topic):
    source, out, group = unique_topic("src"), unique_topic("out"), unique_topic("g")
    ensure_topics(kafka_bootstrap, {source: 2, out: 2})
    words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta"]
    send_all(kafka_bootstrap, source, [(b"cam-%d" % (i % 2), w) for i, w in enumerate(words)])

    seen: list[bytes] = []
    durable: list[tuple[bytes, dict[int, int]]] = []  # what was durable, and the commits at that time
    timed: list[tuple[bytes, int, object]] = []

    def on_batch_durable(records):
        durable.extend((r.value, committed(kafka_bootstrap, group)) for r in records)

    running = Running(
        Stage(
            bootstrap=kafka_bootstrap,
            source_topic=source,
            group_id=group,
            process=upper_to(out, seen),
            on_batch_durable=on_batch_durable,
            on_record=lambda r, seconds, n, error: timed.append((r.value, n, error)),
            **FAST_GROUP,
        )
    )
    running.until(lambda s: s.processed == len(words) and s.commits >= 1)
    stats = running.finish()

    assert sorted(seen) == sorted(words)
    assert stats.dead_lettered == 0
    assert sorted(v for v, _ in durable) == sorted(words)
    assert durable[0][1] == {} or sum(durable[0][1].values()) == 0  # durable before the first commit
    assert sorted(timed) == sorted((w, 1, None) for w in words)
    assert sorted(r.value for r in read_all(kafka_bootstrap, out, len(words))) == sorted(
        w.upper() for w in words
    )
    offsets = committed(kafka_bootstrap, group)
    assert sum(offsets.values()) == len(words), offsets


def test_bad_record_goes_to_dlq_and_the_next_one_is_processed(kafka_bootstrap, unique_topic):
    source, out, group = unique_topic("src"), unique_topic("out"), unique_topic("g")
    ensure_topics(kafka_bootstrap, {source: 1, out: 1})
    send_all(kafka_bootstrap, source, [(b"k1", b"one"), (b"k2", b"bad"), (b"k3", b"three")])

    seen: list[bytes] = []
    running = Running(
        Stage(
            bootstrap=kafka_bootstrap,
            source_topic=source,
            group_id=group,
            name="upper",
            process=upper_to(out, seen),
            **FAST_GROUP,
        )
    )
    running.until(lambda s: s.consumed == 3 and s.commits >= 1)
    stats = running.finish()

    assert seen == [b"one", b"three"]
    assert stats.dead_lettered == 1
    assert [r.value for r in read_all(kafka_bootstrap, out, 2)] == [b"ONE", b"THREE"]
    [dead] = read_all(kafka_bootstrap, source + ".dlq", 1)
    assert (dead.key, dead.value) == (b"k2", b"bad")
    assert header(dead, "origin") == b"test"  # the original headers are kept
    assert header(dead, "dlq.error") == b"ValueError: expected a lower-case word, got b'bad'"
    assert header(dead, "dlq.source_topic") == source.encode()
    assert header(dead, "dlq.source_partition") == b"0"
    assert header(dead, "dlq.source_offset") == b"1"
    assert header(dead, "dlq.stage") == b"upper"
    assert abs(int(header(dead, "dlq.failed_at_ns")) - time.time_ns()) < 120e9
    assert committed(kafka_bootstrap, group) == {0: 3}


def test_restart_with_same_group_reprocesses_nothing(kafka_bootstrap, unique_topic):
    source, out, group = unique_topic("src"), unique_topic("out"), unique_topic("g")
    ensure_topics(kafka_bootstrap, {source: 2, out: 1})
    send_all(kafka_bootstrap, source, [(b"a", b"first-%d" % i) for i in range(4)])

    def stage(seen: list[bytes]) -> Stage:
        return Stage(
            bootstrap=kafka_bootstrap,
            source_topic=source,
            group_id=group,
            process=upper_to(out, seen),
            **FAST_GROUP,
        )

    first: list[bytes] = []
    running = Running(stage(first))
    running.until(lambda s: s.processed == 4 and s.commits >= 1)
    running.finish()

    send_all(kafka_bootstrap, source, [(b"b", b"second-%d" % i) for i in range(3)])
    second: list[bytes] = []
    running = Running(stage(second))
    running.until(lambda s: s.processed == 3 and s.commits >= 1)
    time.sleep(0.5)  # a reprocessed record would show up here
    running.finish()

    assert sorted(first) == [b"first-%d" % i for i in range(4)]
    assert sorted(second) == [b"second-%d" % i for i in range(3)]
    assert sum(committed(kafka_bootstrap, group).values()) == 7


def test_stop_policy_raises_and_commits_nothing_of_the_failed_batch(kafka_bootstrap, unique_topic):
    source, out, group = unique_topic("src"), unique_topic("out"), unique_topic("g")
    ensure_topics(kafka_bootstrap, {source: 1, out: 1})
    send_all(kafka_bootstrap, source, [(b"k", b"bad")])

    running = Running(
        Stage(
            bootstrap=kafka_bootstrap,
            source_topic=source,
            group_id=group,
            dlq=False,
            process=upper_to(out, []),
            **FAST_GROUP,
        )
    )
    running.thread.join(timeout=20)
    assert isinstance(running.error, ValueError)
    assert committed(kafka_bootstrap, group).get(0, 0) == 0
    assert running.stage.stopped.is_set()
