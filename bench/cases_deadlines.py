"""The deadline job over a city's year of open cases, on PostgreSQL; prints one JSON line.

    .venv/bin/python bench/cases_deadlines.py                        # 100,000 open cases
    .venv/bin/python bench/cases_deadlines.py --cases 20000 --postgres postgresql+psycopg://u@h/db

The cases are bulk inserted (executemany, not the ORM one by one) into a fresh schema that is
dropped afterwards: a quarter overdue for notification, a quarter notified more than 20 days ago
(warning flag + warning notice), a quarter decided with the payment deadline passed, a quarter
resolving and not yet due, and one case in twenty past the one-year limitation. Reported: the
first run (raises every flag), a second run (nothing new: the steady state every few minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cases.db import drop_schema, make_engine, upgrade  # noqa: E402
from cases.deadlines import run_deadlines  # noqa: E402
from cases.models import Camera, Case, DeadlineFlag, Decision, OutboxMessage  # noqa: E402
from cases.states import Status  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
BATCH = 10_000


def case_rows(n: int) -> list[dict[str, object]]:
    """Open cases in four equal groups (see the module docstring)."""
    rows = []
    for i in range(n):
        group = i % 4
        occurred = NOW - timedelta(days=5 + (i % 300))
        status = (Status.EXTRACTED, Status.NOTIFIED, Status.DECIDED, Status.RESOLVING)[group]
        rows.append(
            {
                "case_number": f"B-{i:07d}",
                "violation_id": f"bench-{i:07d}",
                "rule": "red_light",
                "rule_version": "1",
                "camera_id": "bench-cam",
                "occurred_at": occurred,
                "place": "bench",
                "vehicle_class": "car",
                "plate_read": f"51A{i % 100000:05d}",
                "plate_key": f"51A{i % 100000:05d}",
                "plate_confidence": 0.9,
                "needs_manual_plate": False,
                "plate_candidates": [],
                "measurement": {},
                "model_versions": {},
                "evidence_signature": "",
                "status": status.value,
                "notify_by": NOW - timedelta(days=1) if group == 0 else NOW + timedelta(days=5),
                "expires_at": NOW - timedelta(days=1) if i % 20 == 0 else NOW + timedelta(days=100),
                "notified_at": NOW - timedelta(days=21 if group == 1 else 5) if group in (1, 3) else None,
                "status_changed_at": occurred,
                "created_at": occurred,
                "updated_at": occurred,
                "source": "camera",
                "held_for_review": False,
            }
        )
    return rows


def populate(session: Session, n: int) -> float:
    started = time.perf_counter()
    session.add(Camera(id="bench-cam", name="bench", address="bench"))
    session.flush()
    rows = case_rows(n)
    for start in range(0, n, BATCH):
        session.execute(insert(Case.__table__), rows[start : start + BATCH])
    decided = session.execute(select(Case.id).where(Case.status == Status.DECIDED)).scalars().all()
    decisions = [
        {
            "case_id": cid,
            "record_number": f"r{cid}",
            "decision_number": f"d{cid}",
            "fine_vnd": 18_000_000,
            "points": 4,
            "person_fined": "owner",
            "fined_name_enc": "x",
            "fined_id_number_enc": "",
            "decided_by": "bench",
            "decided_at": NOW - timedelta(days=15),
            "pay_by": NOW - timedelta(days=5),
        }
        for cid in decided
    ]
    for start in range(0, len(decisions), BATCH):
        session.execute(insert(Decision.__table__), decisions[start : start + BATCH])
    session.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    upgrade(args.postgres, schema=schema)
    engine = make_engine(args.postgres, schema=schema)
    try:
        with Session(engine) as session:
            populate_s = populate(session, args.cases)
            started = time.perf_counter()
            first = run_deadlines(session, now=NOW)
            session.commit()
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = run_deadlines(session, now=NOW + timedelta(minutes=5))
            session.commit()
            second_s = time.perf_counter() - started
            flags = session.scalar(select(func.count()).select_from(DeadlineFlag))
            notices = session.scalar(select(func.count()).select_from(OutboxMessage))
    finally:
        engine.dispose()
        drop_schema(args.postgres, schema)
    print(
        json.dumps(
            {
                "open_cases": args.cases,
                "populate_s": round(populate_s, 2),
                "first_run_s": round(first_s, 2),
                "raised": {k.value: v for k, v in first.raised.items()},
                "flags_total": flags,
                "warning_notices_queued": notices,
                "second_run_s": round(second_s, 2),
                "second_run_raised": second.total_raised,
            }
        )
    )


if __name__ == "__main__":
    main()
