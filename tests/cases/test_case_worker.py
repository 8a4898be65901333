"""``phatnguoi worker cases`` as the service runs it: the batched intake from a real topic (Tansu)
and the deadline timer beside it, into a SQLite file, stopped by its event."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from builders import violation_event
from sqlalchemy import func, select

from cases.db import make_engine, session_factory, upgrade
from cases.models import AuditLog, Case, DeadlineFlag, MergedDetection
from phatnguoi.broker import ensure_topics
from phatnguoi.settings import load_settings
from phatnguoi.streams import make_producer
from phatnguoi.workers import run_cases

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_cases_worker_ingests_merges_skips_a_bad_record_and_raises_flags(kafka_bootstrap, unique_topic, tmp_path):
    topic = unique_topic("violations")
    ensure_topics(kafka_bootstrap, {topic: 1})
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    upgrade(url)
    settings = load_settings(
        env="test",
        var_dir=tmp_path,
        database_url=url,
        kafka={
            "bootstrap": kafka_bootstrap,
            "topics": {"violations_detected": {"name": topic}},
            "groups": {"cases": unique_topic("g")},
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 500,
        },
        cases={"deadlines_every_s": 0.5},
    )
    old = datetime.now(UTC) - timedelta(days=30)  # its 10-day notification deadline has passed
    events = [
        violation_event(track="w1", occurred_at=old),
        violation_event(track="w2", occurred_at=old),
        violation_event(track="w3", plate="59X123456", vehicle_class="motorbike", occurred_at=datetime.now(UTC)),
    ]
    producer = make_producer(kafka_bootstrap, client_id="test-worker")
    for event in events:
        producer.send(topic, key=event.violation_id.encode(), value=event.model_dump_json().encode())
    producer.send(topic, key=b"bad", value=b"not a violation")
    producer.flush()
    producer.close()
    stop = threading.Event()
    worker = threading.Thread(target=run_cases, args=(settings, stop), daemon=True)
    worker.start()
    factory = session_factory(make_engine(url))

    def counts() -> tuple[int, int, int]:
        with factory() as session:
            return (
                session.scalar(select(func.count()).select_from(Case)),
                session.scalar(select(func.count()).select_from(MergedDetection)),
                session.scalar(select(func.count()).select_from(DeadlineFlag)),
            )

    deadline = time.monotonic() + 90
    while counts() != (2, 1, 1) and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    worker.join(timeout=30)
    assert counts() == (2, 1, 1)  # w2 merged into w1; w1's notification flag raised by the timer
    with factory() as session:
        flag = session.scalar(select(DeadlineFlag))
        assert flag.kind == "notify_overdue"
        assert session.get(Case, flag.case_id).violation_id == events[0].violation_id
        assert (
            session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor == "system:deadlines")) == 1
        )
