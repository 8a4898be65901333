"""The daily print batch (SQLite, the embedded tier): postal notices of one unit and day merged
into one PDF with a manifest; the ``phatnguoi notices batch`` command; clear errors."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))
from builders import PII_KEY, registry_csv, violation_event  # noqa: E402
from notice_builders import photo  # noqa: E402

from cases import review  # noqa: E402
from cases.cameras import ensure_unit  # noqa: E402
from cases.db import make_engine, session_factory  # noqa: E402
from cases.intake import ingest_violation  # noqa: E402
from cases.models import Camera  # noqa: E402
from cases.registry import import_registry_csv  # noqa: E402
from detection.evidence_store import FileEvidenceStore  # noqa: E402
from notices.batch import BatchError, build_batch  # noqa: E402
from notices.channels import PostalChannel  # noqa: E402
from notices.delivery import DeliveryConfig, deliver_pending  # noqa: E402
from notices.worker import NoticeWorkerConfig, process_outbox  # noqa: E402
from phatnguoi.cli import main  # noqa: E402

SECRET = "notice-test-secret-0123456789"
T0 = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 09:00 on 15/03/2026 in Vietnam


@pytest.fixture
def posted(sqlite_url, tmp_path):  # type: ignore[no-untyped-def]
    """Two cases of unit pc08 whose first notices went out by post on 15/03/2026."""
    store = FileEvidenceStore(tmp_path / "evidence")
    engine = make_engine(sqlite_url)
    factory = session_factory(engine)
    sha = store.put(photo(), content_type="image/jpeg")
    with factory() as session:
        unit = ensure_unit(session, code="pc08", name="Phòng CSGT", address="459 Trần Hưng Đạo", phone="069 3187 346")
        ensure_unit(session, code="pc09", name="Đội CSGT 2")
        session.add(Camera(id="cam-01", name="Ngã tư", address="Ngã tư Hai Bà Trưng", unit_id=unit.id))
        session.flush()
        import_registry_csv(session, registry_csv(tmp_path / "r.csv"), pii_key=PII_KEY)
        for track, plate, cls in (("a", "51A12345", "car"), ("b", "59X123456", "motorbike")):
            case = ingest_violation(
                session, violation_event(track=track, plate=plate, vehicle_class=cls, evidence={"at": sha})
            )
            review.approve(session=session, case_id=case.id, actor="officer1")
        session.commit()
    assert process_outbox(factory, store, NoticeWorkerConfig(secret_key=SECRET, pii_key=PII_KEY)) == 2
    config = DeliveryConfig(pii_key=PII_KEY, order=("postal",))
    assert deliver_pending(factory, {"postal": PostalChannel()}, store, config, now=T0) == 2
    yield factory, store, sqlite_url
    engine.dispose()


def test_batch_merges_the_days_postal_notices_with_a_manifest(posted, tmp_path):
    factory, store, _ = posted
    with factory() as session:
        batch = build_batch(
            session, store, unit_code="pc08", day=date(2026, 3, 15), out_dir=tmp_path / "out", pii_key=PII_KEY
        )
    merged = PdfReader(io.BytesIO(batch.pdf.read_bytes()))
    assert len(merged.pages) == batch.pages == 2
    rows = list(csv.DictReader(batch.manifest_csv.open(encoding="utf-8")))
    assert [r["addressee"] for r in rows] == ["Nguyễn Văn An", "Trần Thị Bích"]
    assert all(r["tracking_number"].startswith("RE") and r["tracking_number"].endswith("VN") for r in rows)
    assert [r["first_page"] for r in rows] == ["1", "2"]
    for row, page in zip(rows, merged.pages, strict=True):  # the page at first_page is that notice
        assert row["case_number"] in page.extract_text()
    manifest = json.loads(batch.manifest_json.read_text(encoding="utf-8"))
    assert manifest["unit"] == "pc08" and manifest["date"] == "2026-03-15" and len(manifest["notices"]) == 2


def test_batch_errors_name_the_problem(posted, tmp_path):
    factory, store, _ = posted
    with factory() as session:
        with pytest.raises(BatchError, match=r"expected a unit code in \['pc08', 'pc09'\], got 'nope'"):
            build_batch(session, store, unit_code="nope", day=date(2026, 3, 15), out_dir=tmp_path, pii_key=PII_KEY)
        with pytest.raises(BatchError, match="sent nothing by post on 2026-03-16"):
            build_batch(session, store, unit_code="pc08", day=date(2026, 3, 16), out_dir=tmp_path, pii_key=PII_KEY)


def test_batch_command(posted, tmp_path, monkeypatch):
    _, store, url = posted
    monkeypatch.setenv("PHATNGUOI_EVIDENCE__ROOT", str(store.root))
    monkeypatch.setenv("PHATNGUOI_VAR_DIR", str(tmp_path / "var"))
    args = ["notices", "batch", "--unit", "pc08", "--date", "2026-03-15", "--out", str(tmp_path / "print")]
    result = CliRunner().invoke(main, [*args, "--database-url", url, "--pii-key", PII_KEY])
    assert result.exit_code == 0, result.output
    assert "2 notices, 2 pages" in result.output
    assert (tmp_path / "print" / "pc08-2026-03-15.pdf").is_file()
    bad = CliRunner().invoke(main, [*args[:3], "zz", *args[4:], "--database-url", url, "--pii-key", PII_KEY])
    assert bad.exit_code != 0 and "expected a unit code" in bad.output
