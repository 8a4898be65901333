"""The daily print batch of one unit for the post: every notice that unit sent by post on one
(Vietnam-time) day, merged into one PDF in manifest order, plus the manifest the post office
checks the envelopes against (CSV and JSON: sequence, case number, notice type, addressee,
address, tracking number, first page in the merged PDF).

The manifest names addressees: it is for the post, not for publication. The order is stable
(tracking number), so re-running a batch gives the same files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Case, NoticeDelivery, Unit
from detection.evidence_store import EvidenceStore
from notices.delivery import DeliveryConfig, recipient_for
from notices.types import NoticeType


class BatchError(ValueError):
    pass


@dataclass(frozen=True)
class ManifestRow:
    seq: int
    case_number: str
    notice_type: str
    addressee: str
    address: str
    tracking_number: str
    first_page: int
    pages: int


@dataclass(frozen=True)
class Batch:
    pdf: Path
    manifest_csv: Path
    manifest_json: Path
    rows: tuple[ManifestRow, ...]

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.rows)


def postal_deliveries(session: Session, *, unit_code: str, day: date) -> list[NoticeDelivery]:
    unit = session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        known = session.scalars(select(Unit.code).order_by(Unit.code)).all()
        raise BatchError(f"expected a unit code in {list(known)}, got {unit_code!r}")
    return list(
        session.scalars(
            select(NoticeDelivery)
            .where(
                NoticeDelivery.batch_unit_id == unit.id,
                NoticeDelivery.batch_date == day.isoformat(),
                NoticeDelivery.channel == "postal",
                NoticeDelivery.status == "sent",
            )
            .order_by(NoticeDelivery.tracking_number)
        )
    )


def build_batch(
    session: Session,
    store: EvidenceStore,
    *,
    unit_code: str,
    day: date,
    out_dir: Path,
    pii_key: str,
    progress: Callable[[int], None] | None = None,
) -> Batch:
    """Write ``<unit>-<date>.pdf``, ``.csv`` and ``.json`` under ``out_dir``; ``progress(n)`` is
    called after each notice. Raises ``BatchError`` for an unknown unit or an empty day."""
    deliveries = postal_deliveries(session, unit_code=unit_code, day=day)
    if not deliveries:
        raise BatchError(f"unit {unit_code} sent nothing by post on {day.isoformat()}")
    config = DeliveryConfig(pii_key=pii_key)
    writer = PdfWriter()
    rows: list[ManifestRow] = []
    page = 1
    for seq, delivery in enumerate(deliveries, start=1):
        case = session.get(Case, delivery.case_id)
        assert case is not None
        reader = PdfReader(io.BytesIO(store.get(delivery.notice.pdf_sha256)))
        writer.append(reader)
        recipient = recipient_for(case, NoticeType(delivery.notice_type), config)
        rows.append(
            ManifestRow(
                seq=seq,
                case_number=case.case_number,
                notice_type=delivery.notice_type,
                addressee=recipient.name,
                address=recipient.address,
                tracking_number=delivery.tracking_number or "",
                first_page=page,
                pages=len(reader.pages),
            )
        )
        page += len(reader.pages)
        if progress is not None:
            progress(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{unit_code}-{day.isoformat()}"
    pdf_path, csv_path, json_path = stem.with_suffix(".pdf"), stem.with_suffix(".csv"), stem.with_suffix(".json")
    with pdf_path.open("wb") as handle:
        writer.write(handle)
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, fieldnames=list(asdict(rows[0])))
        out.writeheader()
        out.writerows(asdict(r) for r in rows)
    json_path.write_text(
        json.dumps(
            {"unit": unit_code, "date": day.isoformat(), "notices": [asdict(r) for r in rows]},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return Batch(pdf=pdf_path, manifest_csv=csv_path, manifest_json=json_path, rows=tuple(rows))
