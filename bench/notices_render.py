"""Notice rendering rate and the daily print batch, on one core; prints JSON.

    nice -n 10 .venv/bin/python bench/notices_render.py --notices 1000 --sample 30

1. ``render``: ``--sample`` notices of every type rendered HTML -> PDF in this one process (one
   core): PDFs/s per core, per type.
2. ``pipeline``: ``--notices`` filed cases in a fresh SQLite database go through the real workers:
   ``process_outbox`` renders and stores every first notice, ``deliver_pending`` sends them by post
   (tracking numbers, batch of unit ``pc08``), then ``build_batch`` writes the merged PDF and the
   manifest: each step timed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from cases import review  # noqa: E402
from cases.cameras import ensure_unit  # noqa: E402
from cases.db import make_engine, session_factory, upgrade  # noqa: E402
from cases.intake import ingest_violation  # noqa: E402
from cases.models import Camera  # noqa: E402
from cases.registry import import_registry_csv  # noqa: E402
from detection.evidence_store import FileEvidenceStore  # noqa: E402
from detection.types import EvidenceRef, Measurement, PlateCandidate, Rule, ViolationEvent, violation_id  # noqa: E402
from notices.batch import build_batch  # noqa: E402
from notices.channels import PostalChannel  # noqa: E402
from notices.delivery import DeliveryConfig, deliver_pending  # noqa: E402
from notices.render import data_uri, print_jpeg, qr_data_uri, render_html, render_pdf  # noqa: E402
from notices.types import Language, NoticeData, NoticeType, UnitInfo  # noqa: E402
from notices.worker import NoticeWorkerConfig, process_outbox  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
WHEN = datetime(2026, 3, 14, 1, 5, tzinfo=UTC)


def photo(seed: int) -> bytes:
    """A 1280x720 JPEG like an evidence frame (noise so it does not compress to nothing)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(60, 200, (720, 1280, 3), dtype=np.uint8)
    cv2.rectangle(img, (500, 300), (800, 560), (30, 30, 200), -1)
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def sample_notice(i: int, notice_type: NoticeType, image: str) -> NoticeData:
    unit = UnitInfo(
        "Phòng Cảnh sát giao thông Công an TP. Hồ Chí Minh", "459 Trần Hưng Đạo, TP. Hồ Chí Minh", "069 3187 346"
    )
    url = f"https://tracuu.example.vn/verify/{hashlib.sha256(str(i).encode()).hexdigest()}"
    return NoticeData(
        notice_type=notice_type,
        language=Language.VI,
        authority="Công an Thành phố Hồ Chí Minh",
        case_number=f"HCM-2026-{i:06d}",
        issued_on="15/03/2026",
        owner_name="Nguyễn Văn An",
        owner_address="12 Lê Lợi, Phường Sài Gòn",
        plate="51A-123.45",
        plate_colour="Nền trắng, chữ đen",
        vehicle_type="Ô tô",
        time="08:05, 14/03/2026",
        place="Ngã tư Nguyễn Thị Minh Khai - Hai Bà Trưng",
        behaviour="Không chấp hành hiệu lệnh của đèn tín hiệu giao thông",
        legal_reference="điểm b khoản 9 Điều 6 Nghị định 168/2024/NĐ-CP",
        measured="Đèn tín hiệu: đỏ",
        fine_range="Từ 18.000.000 đồng đến 20.000.000 đồng",
        points=4,
        detecting_unit=unit,
        resolving_unit=unit,
        appear_by="04/04/2026",
        payment="Nộp tại Kho bạc Nhà nước.",
        evidence_image=image,
        data_bar="cam-01 | 08:05, 14/03/2026",
        qr_image=qr_data_uri(url),
        verify_url=url,
        officer="officer1",
        addressee_name="Nguyễn Văn An",
        addressee_address="12 Lê Lợi",
        fine_decided="19.000.000 đồng",
        pay_by="25/04/2026",
        resolved_on="20/04/2026",
    )


def bench_render(sample: int) -> dict[str, object]:
    image = data_uri(print_jpeg(photo(1)), "image/jpeg")  # what the worker embeds
    render_pdf(render_html(sample_notice(0, NoticeType.FIRST, image)))  # warm-up: fonts, imports
    per_type: dict[str, float] = {}
    sizes: list[int] = []
    total_n, total_s, total_cpu = 0, 0.0, 0.0
    for notice_type in NoticeType:
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(sample):
            sizes.append(len(render_pdf(render_html(sample_notice(i, notice_type, image)))))
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        per_type[str(notice_type)] = round(sample / used, 2)
        total_n, total_s, total_cpu = total_n + sample, total_s + elapsed, total_cpu + used
    return {
        # per CPU-second of this process: what one core renders, whatever else shares the machine
        "pdfs_per_cpu_s": round(total_n / total_cpu, 2),
        "pdfs_per_wall_s": round(total_n / total_s, 2),
        "per_type": per_type,
        "mean_pdf_kb": round(sum(sizes) / len(sizes) / 1024, 1),
    }


def event(i: int, plate: str, sha: str) -> ViolationEvent:
    vid = violation_id("cam-01", f"bench-{i}", Rule.RED_LIGHT)
    return ViolationEvent(
        violation_id=vid,
        camera_id="cam-01",
        rule=Rule.RED_LIGHT,
        rule_version="1",
        occurred_at=WHEN + timedelta(minutes=i),
        frame_sequence=100 + i,
        track_id=i,
        vehicle_class="car",
        plate_candidates=[
            PlateCandidate(text=plate, confidence=0.95, votes=5, frame_sequence=100, valid=True, layout="one-row")
        ],
        plate_text=plate,
        plate_confidence=0.95,
        needs_manual_plate=False,
        measurement=Measurement(signal_phase="red", seconds_since_red=2.5),
        evidence=[EvidenceRef(role="at", sha256=sha, key=sha, frame_sequence=100)],
        model_versions={"detector": "bench"},
    )


def bench_pipeline(notices: int, workdir: Path) -> dict[str, object]:
    pii_key = Fernet.generate_key().decode()
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    store = FileEvidenceStore(workdir / "store")
    plates = [f"51A{10000 + v:05d}" for v in range(100)]
    registry = workdir / "registry.csv"
    with registry.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["plate_text", "owner_name", "address", "vehicle_type", "colour"])
        for v, plate in enumerate(plates):
            out.writerow([plate, f"Nguyễn Văn Chủ {v}", f"{v} Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh", "car", "white"])
    shas = [store.put(photo(s), content_type="image/jpeg") for s in range(20)]
    start = time.perf_counter()
    with factory() as session:
        unit = ensure_unit(session, code="pc08", name="Phòng CSGT", address="459 Trần Hưng Đạo", phone="069 3187 346")
        session.add(Camera(id="cam-01", name="Ngã tư", address="Ngã tư Hai Bà Trưng", unit_id=unit.id))
        session.flush()
        import_registry_csv(session, registry, pii_key=pii_key)
        for i in range(notices):
            case = ingest_violation(session, event(i, plates[i % len(plates)], shas[i % len(shas)]))
            review.approve(session=session, case_id=case.id, actor="bench")
        session.commit()
    filed_s = time.perf_counter() - start
    config = NoticeWorkerConfig(secret_key=SECRET, pii_key=pii_key)
    start, cpu = time.perf_counter(), time.process_time()
    rendered = 0
    while True:
        done = process_outbox(factory, store, config, limit=200)
        rendered += done
        if not done:
            break
    render_s, render_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    sent = 0
    now = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
    while True:
        done = deliver_pending(
            factory,
            {"postal": PostalChannel()},
            store,
            DeliveryConfig(pii_key=pii_key, order=("postal",)),
            now=now,
            limit=500,
        )
        sent += done
        if not done:
            break
    deliver_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    with factory() as session:
        batch = build_batch(
            session, store, unit_code="pc08", day=now.date(), out_dir=workdir / "print", pii_key=pii_key
        )
    batch_s, batch_cpu = time.perf_counter() - start, time.process_time() - cpu
    engine.dispose()
    return {
        "notices": notices,
        "file_cases_s": round(filed_s, 1),
        "render_worker_s": round(render_s, 1),
        "render_worker_pdfs_per_s": round(rendered / render_s, 2),
        "render_worker_pdfs_per_cpu_s": round(rendered / render_cpu, 2),
        "deliver_postal_s": round(deliver_s, 2),
        "print_batch_s": round(batch_s, 2),
        "print_batch_cpu_s": round(batch_cpu, 2),
        "print_batch_pages": batch.pages,
        "print_batch_mb": round(batch.pdf.stat().st_size / 2**20, 1),
        "rendered": rendered,
        "sent": sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notices", type=int, default=1000, help="cases through the workers and the print batch")
    parser.add_argument("--sample", type=int, default=30, help="notices per type for the pure render rate")
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()
    result: dict[str, object] = {"cpu_count": os.cpu_count(), "load_avg_at_start": os.getloadavg()}
    result["render"] = bench_render(args.sample)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    if not args.skip_pipeline:
        with tempfile.TemporaryDirectory() as tmp:
            result["pipeline"] = bench_pipeline(args.notices, Path(tmp))
    result["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
