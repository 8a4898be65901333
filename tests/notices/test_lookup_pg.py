"""The public lookup's single statement on the real PostgreSQL (autocommit, no transaction):
published cases only, newest first, only ``*_public`` images, nothing personal."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from builders import PII_KEY, WHEN, registry_csv, sha, violation_event  # noqa: E402

from cases import review  # noqa: E402
from cases.cameras import ensure_unit  # noqa: E402
from cases.db import make_engine, session_factory, upgrade  # noqa: E402
from cases.intake import ingest_violation  # noqa: E402
from cases.models import Camera  # noqa: E402
from cases.registry import import_registry_csv  # noqa: E402
from cases.types import LookupVehicleType  # noqa: E402
from notices.lookup import evidence_is_public, public_cases  # noqa: E402

pytestmark = pytest.mark.integration


def test_lookup_statement_on_postgres(fresh_postgres_url, tmp_path):
    upgrade(fresh_postgres_url)
    engine = make_engine(fresh_postgres_url)
    factory = session_factory(engine)
    try:
        with factory() as session:
            unit = ensure_unit(
                session, code="pc08", name="Phòng CSGT", address="459 Trần Hưng Đạo", phone="069 3187 346"
            )
            session.add(Camera(id="cam-01", name="Ngã tư", address="Ngã tư Hai Bà Trưng", unit_id=unit.id))
            session.flush()
            import_registry_csv(session, registry_csv(tmp_path / "r.csv"), pii_key=PII_KEY)
            ids = []
            for i, public in enumerate((True, False, True)):
                evidence = {"at": sha(f"at{i}"), **({"at_public": sha(f"pub{i}")} if public else {})}
                event = violation_event(track=f"t{i}", occurred_at=WHEN + timedelta(hours=i), evidence=evidence)
                case = ingest_violation(session, event)
                session.flush()
                ids.append(case.id)
            for case_id in ids[:2]:  # the third stays in review: not published
                review.approve(session=session, case_id=case_id, actor="officer1")
            session.commit()
        with factory() as session:
            found = public_cases(session=session, plate_key="51A12345", vehicle_type=LookupVehicleType.CAR)
            assert not session.in_transaction()  # the driver-level statement: no BEGIN/ROLLBACK
        with factory() as session:  # the SQLAlchemy statement (SQLite's path) finds the very same
            assert public_cases(
                session=session, plate_key="51A12345", vehicle_type=LookupVehicleType.CAR, portable=True
            ) == found
        with engine.connect() as conn:  # the pooled connection went back as it was taken
            assert conn.connection.dbapi_connection.autocommit is False
        assert [c.time for c in found] == ["09:05, 14/03/2026", "08:05, 14/03/2026"]  # newest first
        assert [c.evidence_sha256 for c in found] == [(), (sha("pub0"),)]
        assert found[1].resolving_unit == "Phòng CSGT" and found[1].resolving_phone == "069 3187 346"
        assert "Nguyễn Văn An" not in str([asdict(c) for c in found])
        with factory() as session:
            assert public_cases(session=session, plate_key="51A12345", vehicle_type=LookupVehicleType.MOTORBIKE) == []
            assert evidence_is_public(session=session, sha256=sha("pub0"))
            assert not evidence_is_public(session=session, sha256=sha("at0"))  # an original
            assert not evidence_is_public(session=session, sha256=sha("pub2"))  # a case in review
    finally:
        engine.dispose()
