"""Cases ingested per second from a real ``violations.detected`` topic into PostgreSQL; one JSON line.

    .venv/bin/python bench/cases_intake.py                      # embedded Tansu broker, 2,000 events
    .venv/bin/python bench/cases_intake.py --count 5000 --consumers 2 --bootstrap host:9092

Produces ``--count`` valid events (distinct vehicles; ``--dup-every`` k makes every k-th event a
near-duplicate of the one before, which intake merges) to a fresh topic, runs the real cases
stage (``phatnguoi.streams.Stage`` + ``cases.consumer``: decode, idempotent insert, commit per
record, offset commit after) with ``--consumers`` group members into a fresh PostgreSQL schema,
and times from the moment the group has its partitions until every event is a case or a merge.
Then it sends every event again and checks that the replay created nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from cases.consumer import BatchedCaseStage, make_case_stage  # noqa: E402
from cases.db import drop_schema, make_engine, session_factory, upgrade  # noqa: E402
from cases.intake import IntakePolicy  # noqa: E402
from cases.models import AuditLog, Case, Evidence, MergedDetection  # noqa: E402
from detection.types import (  # noqa: E402
    EvidenceRef,
    Measurement,
    PlateCandidate,
    Rule,
    SignalPhase,
    ViolationEvent,
    violation_id,
)
from phatnguoi.broker import EmbeddedBroker, ensure_topics  # noqa: E402
from phatnguoi.streams import Stage, make_producer  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)


def events(count: int, dup_every: int) -> list[ViolationEvent]:
    out = []
    vehicle = 0
    for i in range(count):
        if not (dup_every and i % dup_every == dup_every - 1):
            vehicle += 1
        plate = f"51A{vehicle % 100000:05d}"
        vid = violation_id(f"cam-{vehicle % 8}", f"{i}-1", Rule.RED_LIGHT)
        shas = {role: hashlib.sha256(f"{vid}-{role}".encode()).hexdigest() for role in ("before", "at", "after")}
        out.append(
            ViolationEvent(
                violation_id=vid,
                camera_id=f"cam-{vehicle % 8}",
                rule=Rule.RED_LIGHT,
                rule_version="1",
                occurred_at=T0 + timedelta(seconds=vehicle * 20 + (i % 3)),
                frame_sequence=i,
                track_id=i,
                vehicle_class="car",
                plate_candidates=[
                    PlateCandidate(text=plate, confidence=0.9, votes=5, frame_sequence=i, valid=True, layout="one-row")
                ],
                plate_text=plate,
                plate_confidence=0.9,
                needs_manual_plate=False,
                measurement=Measurement(signal_phase=SignalPhase.RED, seconds_since_red=2.0),
                evidence=[EvidenceRef(role=r, sha256=s, key=s, frame_sequence=i) for r, s in shas.items()],
                model_versions={"detector": "bench", "plate_reader": "bench"},
            )
        )
    return out


def produce(bootstrap: str, topic: str, items: list[ViolationEvent], key: str = "violation") -> float:
    producer = make_producer(bootstrap, client_id="bench-cases")
    started = time.perf_counter()
    for event in items:
        k = event.camera_id if key == "camera" else event.violation_id
        producer.send(topic, key=k.encode(), value=event.model_dump_json().encode())
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def stored(factory) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    with factory() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (Case, MergedDetection, Evidence, AuditLog)
        )


def wait_for(predicate, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def measure(
    bootstrap: str, postgres: str, *, count: int, consumers: int, dup_every: int, batch: bool, key: str = "violation"
) -> dict[str, object]:
    topic = f"bench.cases.{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, {topic: max(consumers, 2)}, dlq_suffix=".dlq")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    upgrade(postgres, schema=schema)
    engine = make_engine(postgres, schema=schema, echo=False)
    factory = session_factory(engine)
    items = events(count, dup_every)
    stop = threading.Event()
    policy = IntakePolicy(merge_window_s=300)
    stages = []
    for n in range(consumers):
        batched = BatchedCaseStage(factory, policy=policy) if batch else None
        stages.append(
            Stage(
                bootstrap=bootstrap,
                source_topic=topic,
                group_id=f"bench-{topic}",
                name=f"cases-{n}",
                process=batched.process if batched else make_case_stage(factory, policy=policy),
                on_batch_durable=batched.on_batch_durable if batched else None,
                max_records=100,
            )
        )
    threads = [threading.Thread(target=s.run, args=(stop,), daemon=True) for s in stages]
    try:
        for thread in threads:
            thread.start()
        if not wait_for(lambda: any(s.assigned.is_set() for s in stages), 120):
            raise RuntimeError("the consumer group got no partitions within 120 s")
        time.sleep(2.0)  # let every member of the group settle
        produce_s = produce(bootstrap, topic, items, key)
        started = time.perf_counter() - produce_s  # the clock starts with the first event sent
        if not wait_for(lambda: sum(stored(factory)[:2]) >= count, 1200):
            raise RuntimeError(f"only {sum(stored(factory)[:2])} of {count} events stored after 20 minutes")
        ingest_s = time.perf_counter() - started
        first = stored(factory)
        consumed = sum(s.stats.consumed for s in stages)
        produce(bootstrap, topic, items, key)  # replay everything
        replayed = wait_for(lambda: sum(s.stats.consumed for s in stages) >= consumed + count, 600)
        after = stored(factory)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        engine.dispose()
        drop_schema(postgres, schema)
    return {
        "events": count,
        "consumers": consumers,
        "key": key,
        "commit": "per poll batch" if batch else "per case",
        "cases": first[0],
        "merged": first[1],
        "produce_s": round(produce_s, 2),
        "ingest_s": round(ingest_s, 2),
        "cases_per_s": round(count / ingest_s, 1),
        "replay_consumed": replayed,
        "replay_created_nothing": after == first,
        "dead_lettered": sum(s.stats.dead_lettered for s in stages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--dup-every", type=int, default=10, help="every k-th event is a near-duplicate (0: none)")
    parser.add_argument("--per-case-commit", action="store_true", help="commit every case (default: per batch)")
    parser.add_argument(
        "--key",
        choices=["violation", "camera"],
        default="violation",
        help="record key: the violation id (as the detection stage sends) or the camera id",
    )
    parser.add_argument("--bootstrap", default=None, help="HOST:PORT of a broker (default: embedded Tansu)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    if args.bootstrap:
        result = measure(
            args.bootstrap,
            args.postgres,
            count=args.count,
            consumers=args.consumers,
            dup_every=args.dup_every,
            batch=not args.per_case_commit,
            key=args.key,
        )
    else:
        with EmbeddedBroker() as broker:
            result = measure(
                broker.bootstrap,
                args.postgres,
                count=args.count,
                consumers=args.consumers,
                dup_every=args.dup_every,
                batch=not args.per_case_commit,
                key=args.key,
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
