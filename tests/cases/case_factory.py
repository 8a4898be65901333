"""Arrange a case in any status with what its next move needs (owner, fine, decision, payment,
transfer), without walking every step: the state-machine tests start from each status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from builders import PII_KEY, WHEN, registry_csv, violation_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.db import make_engine, upgrade
from cases.intake import IntakePolicy, ingest_violation
from cases.models import Case, Decision, Payment, Transfer, Vehicle
from cases.registry import import_registry_csv
from cases.states import Status

_counter = iter(range(10**9))
NO_MERGE = IntakePolicy(merge_window_s=0)  # every arranged case is its own


def arrange(
    session: Session,
    status: Status,
    *,
    owner: bool = True,
    decision: bool = True,
    paid: bool = True,
    transfer: bool = True,
    expired: bool = True,
    **event_kwargs: object,
) -> Case:
    """A case at ``status`` with the prerequisites of its onward moves, unless switched off."""
    if session.scalar(select(Vehicle.id).limit(1)) is None:
        import_registry_csv(session, registry_csv(Path(f"/tmp/registry-{id(session)}.csv")), pii_key=PII_KEY)
    event_kwargs.setdefault("track", f"t-{next(_counter)}")
    case = ingest_violation(session, violation_event(**event_kwargs), policy=NO_MERGE)  # type: ignore[arg-type]
    assert case is not None
    if owner:
        vehicle = session.scalar(select(Vehicle).where(Vehicle.plate_normalized == case.plate_key))
        case.vehicle_id = vehicle.id if vehicle else None
        case.fine_min_vnd, case.fine_max_vnd, case.points = 18_000_000, 20_000_000, 4
        case.legal_reference, case.tariff_version = "điểm b khoản 9 Điều 6", "test"
    if expired:
        case.expires_at = WHEN  # the limitation passed (moves happen "now", after WHEN)
    case.status = status
    session.flush()
    if decision and status in (Status.RESOLVING, Status.DECIDED):
        session.add(
            Decision(
                case_id=case.id,
                record_number=f"r-{case.id}",
                decision_number=f"d-{case.id}",
                fine_vnd=18_000_000,
                points=4,
                person_fined="owner",
                fined_name_enc="x",
                decided_by="officer",
                decided_at=WHEN,
                pay_by=WHEN + timedelta(days=10),
            )
        )
    if paid and decision and status == Status.DECIDED:
        session.add(
            Payment(
                case_id=case.id,
                provider="test",
                provider_reference=f"ref-{case.id}",
                amount_vnd=18_000_000,
                fine_vnd=18_000_000,
                paid_at=WHEN,
                verified=True,
                recorded_by="test",
            )
        )
    if transfer:
        session.add(Transfer(case_id=case.id, to_unit_name="Công an xã", transferred_by="officer", transferred_at=WHEN))
    session.flush()
    return case


@pytest.fixture(scope="module")
def module_sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    url = f"sqlite:///{tmp_path_factory.mktemp('states') / 'cases.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def rolled_back(module_sqlite_engine) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    """A session on one migrated SQLite file per module, rolled back after each test (fast)."""
    conn = module_sqlite_engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()
