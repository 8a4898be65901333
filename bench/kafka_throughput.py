"""Kafka producer and consumer throughput for frame-sized messages; prints one JSON line.

    .venv/bin/python bench/kafka_throughput.py                     # embedded Tansu broker
    .venv/bin/python bench/kafka_throughput.py --bootstrap host:9092 --count 2000

Messages are random bytes (incompressible, like JPEG) of ``--size`` bytes, sent with the project's
producer settings (acks=all, no compression) to a fresh topic, then read back from the beginning.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kafka.record import util as record_util  # noqa: E402

from phatnguoi.broker import EmbeddedBroker, ensure_topics  # noqa: E402
from phatnguoi.streams import OutMessage, Stage, make_producer  # noqa: E402


def crc32c_implementation() -> str:
    """``"c"`` when kafka-python computes record CRCs with the crc32c C extension."""
    return (
        "c"
        if getattr(record_util, "crc32c_c", None) is not None
        and getattr(record_util, "_crc32c", None) is record_util.crc32c_c
        else "python"
    )


def measure(bootstrap: str, *, count: int, size: int, partitions: int) -> dict[str, float | int | str]:
    topic = f"bench.throughput.{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, {topic: partitions}, dlq_suffix=None)
    payloads = [os.urandom(size) for _ in range(min(count, 64))]
    producer = make_producer(bootstrap, client_id="bench")
    # warm-up: metadata and connections
    producer.send(topic, key=b"warm", value=payloads[0]).get(timeout=30)
    started = time.perf_counter()
    for i in range(count):
        producer.send(topic, key=b"cam-%d" % (i % 8), value=payloads[i % len(payloads)])
    producer.flush()
    produce_s = time.perf_counter() - started
    producer.close()

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_bytes=64 << 20,
        max_partition_fetch_bytes=16 << 20,
    )
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    received = 0
    received_bytes = 0
    started = time.perf_counter()
    deadline = started + 300
    while received < count + 1 and time.perf_counter() < deadline:
        for batch in consumer.poll(timeout_ms=500, max_records=1000).values():
            received += len(batch)
            received_bytes += sum(len(r.value) for r in batch)
    consume_s = time.perf_counter() - started
    consumer.close()
    stage = measure_stage(bootstrap, topic, count=count + 1, partitions=partitions)
    mb = count * size / 1e6
    return {
        "messages": count,
        "message_bytes": size,
        "partitions": partitions,
        "producer_mb_s": round(mb / produce_s, 1),
        "producer_msgs_s": round(count / produce_s, 1),
        "consumer_mb_s": round(received_bytes / 1e6 / consume_s, 1),
        "consumer_msgs_s": round(received / consume_s, 1),
        "consumed": received,
        "crc32c": crc32c_implementation(),
        **stage,
    }


def measure_stage(bootstrap: str, topic: str, *, count: int, partitions: int) -> dict[str, float]:
    """The shared stage loop (consume, produce one small message each, flush, commit) over the
    topic: messages/s once the group has its partitions, and how long the group join took."""
    out = topic + ".out"
    ensure_topics(bootstrap, {out: partitions}, dlq_suffix=None)
    stop = threading.Event()
    stage = Stage(
        bootstrap=bootstrap,
        source_topic=topic,
        group_id=topic + ".group",
        process=lambda r: [OutMessage(topic=out, key=r.key, value=b"%d" % r.offset)],
        max_records=100,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        consumer_config={"fetch_max_bytes": 64 << 20, "max_partition_fetch_bytes": 16 << 20},
    )
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    started = time.perf_counter()
    thread.start()
    stage.assigned.wait(timeout=60)
    assigned = time.perf_counter()
    while stage.stats.processed < count and time.perf_counter() - assigned < 300 and thread.is_alive():
        time.sleep(0.01)
    done = time.perf_counter()
    stop.set()
    thread.join(timeout=30)
    return {
        "group_join_s": round(assigned - started, 2),
        "stage_msgs_s": round(stage.stats.processed / (done - assigned), 1),
        "stage_commits": stage.stats.commits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", help="HOST:PORT of a broker; default: start the embedded Tansu broker")
    parser.add_argument("--count", type=int, default=500, help="messages to send (default 500)")
    parser.add_argument("--size", type=int, default=100_000, help="bytes per message (default 100000)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--python-crc",
        action="store_true",
        help="compare: compute record CRCs in pure Python, as without the extra",
    )
    args = parser.parse_args()
    if args.python_crc:
        record_util.calc_crc32c.__defaults__ = (record_util.crc32c_py,)
        record_util._crc32c = record_util.crc32c_py
    if args.bootstrap:
        result = measure(args.bootstrap, count=args.count, size=args.size, partitions=args.partitions)
        result["broker"] = args.bootstrap
    else:
        with EmbeddedBroker() as broker:
            result = measure(broker.bootstrap, count=args.count, size=args.size, partitions=args.partitions)
        result["broker"] = "embedded tansu"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
