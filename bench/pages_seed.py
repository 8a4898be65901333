"""A believable back office for the screen benchmarks, the screenshots and the browser tests:
real simulator frames as evidence (before / at / after, plate and vehicle crops), the registry of
the simulated vehicles, cases of every rule and several statuses, the four kinds of accounts, and
camera-status rows with annotated previews (one camera covered, so the wall shows a red tile).

``seed_world(session_factory, store, workdir)`` returns the ids and passwords it made;
``bulk_cases(session_factory, n)`` adds ``n`` more cases in a few bulk INSERTs (10,000 in about
a second), reusing the seeded evidence.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from cases import review
from cases.accounts import create_user
from cases.cameras import register_cameras
from cases.intake import ingest_violation
from cases.models import CameraStatus, Case, Evidence
from cases.registry import import_registry_csv
from cases.states import Status
from detection.evidence_store import EvidenceStore
from detection.types import (
    Box,
    Detection,
    EvidenceRef,
    Measurement,
    ObjectClass,
    PlateCandidate,
    Rule,
    SignalPhase,
    ViolationEvent,
    violation_id,
)
from ingest.camera import CameraConfig, load_cameras
from ingest.sim.camera import SimulatedCamera
from ingest.sim.registry import registry_entry, write_registry
from phatnguoi.camera_watch import annotate

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"canbo": "officer", "chihuy": "supervisor", "vanhanh": "operator", "quantri": "admin"}


@dataclass
class Shot:
    """One vehicle seen by a simulated camera: evidence shas and what the simulator knows."""

    camera: CameraConfig
    plate: str
    vehicle_class: str
    layout: str
    shas: dict[str, str]
    speed_kmh: float


@dataclass
class World:
    users: dict[str, str] = field(default_factory=dict)  # username -> password
    case_ids: list[int] = field(default_factory=list)
    correction_case: int | None = None
    cameras: dict[str, CameraConfig] = field(default_factory=dict)
    pii_key: str = ""


def _jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def _crop(image: np.ndarray, box: tuple[float, float, float, float], pad: float, scale: float) -> np.ndarray:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    x1, y1 = max(0, int(x1 - pad * w)), max(0, int(y1 - pad * h))
    x2, y2 = min(image.shape[1], int(x2 + pad * w)), min(image.shape[0], int(y2 + pad * h))
    part = image[y1:y2, x1:x2]
    return cv2.resize(part, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale != 1 else part


def shots(store: EvidenceStore, camera: CameraConfig, *, seed: int, frames: int = 36, want: int = 4,
          registry: list[Any]) -> tuple[list[Shot], np.ndarray, list[Detection]]:
    """Up to ``want`` vehicles with a readable plate, their evidence stored; the last frame and its
    detections (for the preview)."""
    sim = SimulatedCamera(camera, seed=seed, frames=frames)
    rendered = [(cv2.imdecode(np.frombuffer(f.jpeg, np.uint8), cv2.IMREAD_COLOR), t) for f, t in sim]
    found: list[Shot] = []
    used: set[str] = set()
    for i in range(5, len(rendered) - 5, 3):
        image, truth = rendered[i]
        for v in truth.vehicles:
            if len(found) >= want:
                break
            if v.plate_box is None or v.plate_visible_fraction < 0.95 or v.plate_text in used:
                continue
            if (v.plate_box[2] - v.plate_box[0]) < 28:
                continue
            used.add(v.plate_text)
            shas = {
                "before": store.put(_jpeg(rendered[i - 5][0]), content_type="image/jpeg"),
                "at": store.put(_jpeg(image), content_type="image/jpeg"),
                "after": store.put(_jpeg(rendered[i + 5][0]), content_type="image/jpeg"),
                "plate": store.put(_jpeg(_crop(image, v.plate_box, 0.15, 3.0), 92), content_type="image/jpeg"),
                "vehicle": store.put(_jpeg(_crop(image, v.box, 0.05, 1.0)), content_type="image/jpeg"),
            }
            found.append(Shot(camera, v.plate_text, v.cls.value, v.plate_layout, shas, v.speed_kmh))
    for plate, cls, colour in sim.plates.values():
        registry.append(registry_entry(plate, seed=seed, vehicle_class=cls.value, colour=colour))
    image, truth = rendered[-1]
    detections = [Detection(ObjectClass(v.cls.value), Box(*v.box), 0.9, track_id=v.track_id) for v in truth.vehicles]
    detections += [Detection(ObjectClass.PLATE, Box(*v.plate_box), 0.8) for v in truth.vehicles if v.plate_box]
    return found, image, detections


def _misread(plate: str) -> str:
    """The plate with one digit misread (what a correction fixes)."""
    swap = {"1": "7", "7": "1", "3": "8", "8": "3", "5": "6", "6": "5", "0": "8", "2": "7", "4": "1", "9": "8"}
    i = len(plate) - 2
    return plate[:i] + swap.get(plate[i], "1") + plate[i + 1:]


def _event(shot: Shot, n: int, when: datetime, *, read: str, confidence: float) -> ViolationEvent:
    camera = shot.camera
    if camera.speed is not None:
        limit = float(next(iter(camera.speed.limits_kmh.values())))
        speed = max(shot.speed_kmh, limit + 12.0)
        rule, measurement = Rule.SPEEDING, Measurement(
            speed_kmh=round(speed, 1), speed_uncertainty_kmh=1.8, speed_limit_kmh=limit,
            speed_lower_kmh=round(speed - 3.0, 1), speed_over_kmh=round(speed - 3.0 - limit, 1), distance_m=30.0)
    elif n % 5 == 3:
        rule, measurement = Rule.WRONG_LANE, Measurement()
    else:
        rule, measurement = Rule.RED_LIGHT, Measurement(signal_phase=SignalPhase.RED,
                                                          seconds_since_red=round(1.2 + n % 4, 1),
                                                          signal_source="pixels")
    candidates = [PlateCandidate(text=read, confidence=confidence, votes=5, frame_sequence=100, valid=True,
                                 layout=shot.layout)]
    if read != shot.plate:
        candidates.append(PlateCandidate(text=shot.plate, confidence=round(confidence - 0.12, 2), votes=2,
                                         frame_sequence=103, valid=True, layout=shot.layout))
    return ViolationEvent(
        violation_id=violation_id(camera.id, f"seed-{n}", rule), camera_id=camera.id, rule=rule, rule_version="1",
        occurred_at=when, frame_sequence=100, track_id=n, vehicle_class=shot.vehicle_class,
        plate_candidates=candidates, plate_text=read, plate_confidence=confidence, needs_manual_plate=False,
        measurement=measurement,
        evidence=[EvidenceRef(role=r, sha256=s, key=s, frame_sequence=100) for r, s in shot.shas.items()],
        model_versions={"detector": "seed", "plate_reader": "seed"},
    )


def seed_world(session_factory: sessionmaker[Session], store: EvidenceStore, workdir: Path, *,
               now: datetime | None = None, passwords: dict[str, str] | None = None) -> World:
    now = now or datetime.now(UTC)
    cameras = load_cameras(ROOT / "ingest" / "cameras")
    world = World(cameras=cameras, pii_key=_pii_key())
    registry: list[Any] = []
    all_shots: list[Shot] = []
    previews: dict[str, bytes] = {}
    for k, camera in enumerate(sorted(cameras.values(), key=lambda c: c.id)):
        found, image, detections = shots(store, camera, seed=11 + k, registry=registry)
        all_shots += found
        previews[camera.id] = annotate(image, detections, camera, width=640)
    workdir.mkdir(parents=True, exist_ok=True)
    unique = list({e.plate_text: e for e in registry}.values())
    csv = write_registry(unique, workdir / "registry.csv")
    with session_factory() as session:
        import_registry_csv(session, csv, pii_key=world.pii_key)
        register_cameras(session, cameras.values())
        for username, role in PASSWORDS.items():
            password = (passwords or {}).get(username) or secrets.token_urlsafe(12)
            create_user(session, username=username, role=role, password=password,
                        unit_code=next(iter(cameras.values())).unit.code)
            world.users[username] = password
        for n, shot in enumerate(all_shots):
            when = now - timedelta(hours=3 + 7 * n, minutes=13 * n)
            wrong = n == 1  # one misread plate: the correction story
            read = _misread(shot.plate) if wrong else shot.plate
            case = ingest_violation(session, _event(shot, n, when, read=read, confidence=0.58 if wrong else
                                                    round(0.97 - 0.04 * (n % 5), 2)), now=when)
            assert case is not None
            world.case_ids.append(case.id)
            if wrong:
                world.correction_case = case.id
        session.flush()
        # a little history for the statistics: two approved, one rejected
        history = [i for i in world.case_ids if i != world.correction_case][-3:]
        for i, case_id in enumerate(history):
            if i < 2:
                review.approve(session=session, case_id=case_id, actor="canbo", now=now - timedelta(hours=1))
            else:
                review.reject(session=session, case_id=case_id, actor="canbo", reason="insufficient_evidence",
                              note="xe bị che khuất", now=now - timedelta(hours=1))
        for camera_id, jpeg in previews.items():
            covered = camera_id.startswith("sim-speed")
            session.merge(CameraStatus(
                camera_id=camera_id, verdict="covered" if covered else "healthy",
                detail="grey mean 131, std 3.2: the view is blank" if covered else "ok",
                updated_at=now, last_frame_at=now, frames_processed=1840, fps_processed=0.0 if covered else 9.6,
                latency_ms=412.0 if not covered else 380.0, detections=4,
                preview_jpeg=_covered(jpeg) if covered else jpeg, silent_after_s=10 ** 9,
            ))
        session.commit()
    return world


def _covered(jpeg: bytes) -> bytes:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return _jpeg(cv2.addWeighted(image, 0.08, np.full_like(image, 128), 0.92, 0))


def _pii_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def bulk_cases(session_factory: sessionmaker[Session], n: int, *, now: datetime | None = None,
               batch: int = 2000) -> int:
    """``n`` more cases copied from the seeded ones (statuses spread over the review queue, filed,
    notified, rejected and closed; times over the last 60 days), with their evidence rows."""
    now = now or datetime.now(UTC)
    statuses = [Status.EXTRACTED] * 4 + [Status.FILED, Status.NOTIFIED, Status.REJECTED, Status.CLOSED]
    with session_factory() as session:
        templates = session.scalars(select(Case).order_by(Case.id)).all()
        evidence = {c.id: [(e.role, e.sha256) for e in c.evidence] for c in templates}
        first_id = (session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
        made = 0
        while made < n:
            rows, ev_rows = [], []
            for k in range(min(batch, n - made)):
                i = made + k
                t = templates[i % len(templates)]
                when = now - timedelta(minutes=(i * 37) % (60 * 24 * 60))
                status = statuses[i % len(statuses)]
                case_id = first_id + i
                rows.append({
                    "id": case_id, "case_number": f"HCM-{when.year}-{case_id:06d}", "violation_id": f"bulk-{case_id}",
                    "rule": t.rule, "rule_version": "1", "camera_id": t.camera_id, "occurred_at": when,
                    "place": t.place, "vehicle_class": t.vehicle_class, "plate_read": t.plate_read,
                    "plate_confirmed": t.plate_read if status != Status.EXTRACTED else None,
                    "plate_key": t.plate_read, "plate_layout": t.plate_layout,
                    "plate_confidence": 0.5 + (i % 50) / 100, "needs_manual_plate": False,
                    "plate_candidates": t.plate_candidates, "measurement": t.measurement,
                    "model_versions": t.model_versions, "evidence_signature": "",
                    "status": status, "outcome": "paid" if status == Status.CLOSED else None,
                    "reject_reason": "false_detection" if status == Status.REJECTED else None,
                    "notify_by": when + timedelta(days=10), "expires_at": when + timedelta(days=365),
                    "detecting_unit_id": t.detecting_unit_id, "resolving_unit_id": t.resolving_unit_id,
                    "reviewed_by": "canbo" if status != Status.EXTRACTED else None,
                    "status_changed_at": when, "created_at": when, "updated_at": when,
                })
                ev_rows += [{"case_id": case_id, "role": r, "sha256": s, "storage_key": s, "frame_sequence": 100}
                            for r, s in evidence[t.id] if r in ("at", "before", "after", "plate")]
            session.execute(insert(Case), rows)
            session.execute(insert(Evidence), ev_rows)
            made += len(rows)
        if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequence past them
            session.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
        session.commit()
    if session.get_bind().dialect.name == "postgresql":  # planner statistics, as autovacuum would gather
        with session_factory() as session:
            session.connection().exec_driver_sql("ANALYZE cases")
            session.connection().exec_driver_sql("ANALYZE evidence")
            session.commit()
    return made


class StaticMonitor:
    """A pipeline snapshot that does not change: what ``PipelineMonitor`` reads from Kafka in a
    running system (ingest heartbeats, consumer lag), here fixed so the seeded screens show the
    Kafka side without a broker. Screenshots only; the demo uses the real monitor."""

    def __init__(self, camera_ids: list[str]) -> None:
        import time

        from phatnguoi.web.monitor import Heartbeat, Snapshot, TopicLag

        now = time.time()
        beats = {cid: Heartbeat(cid, 10.0 if not cid.startswith("sim-speed") else 9.8, 18_420, 3 if n == 1 else 0, now)
                 for n, cid in enumerate(camera_ids)}
        self._snapshot = Snapshot(
            heartbeats=beats,
            lags=(TopicLag("frames.raw", "detection", 55_260, 55_182),
                  TopicLag("violations.detected", "cases", 214, 214)),
            dead_letters={"frames.raw.dlq": 0, "violations.detected.dlq": 0}, updated_at=now)

    def snapshot(self):  # type: ignore[no-untyped-def]  # noqa: ANN201
        return self._snapshot


class SeededServer:
    """The web app over a seeded world, served by uvicorn in a thread on a free loopback port."""

    def __init__(self, workdir: Path, *, bulk: int = 0, passwords: dict[str, str] | None = None,
                 static_monitor: bool = False, database_url: str | None = None) -> None:
        self.static_monitor = static_monitor
        from cases.db import make_engine, session_factory, upgrade
        from detection.evidence_store import FileEvidenceStore

        url = database_url or f"sqlite:///{workdir / 'screens.db'}"
        upgrade(url)
        self.engine = make_engine(url)
        self.session_factory = session_factory(self.engine)
        self.store = FileEvidenceStore(workdir / "evidence")
        self.world = seed_world(self.session_factory, self.store, workdir / "seed", passwords=passwords)
        if bulk:
            bulk_cases(self.session_factory, bulk)

    def __enter__(self) -> SeededServer:
        from phatnguoi.web import create_app
        from phatnguoi.web.serving import ThreadedServer

        app = create_app(session_factory=self.session_factory, evidence_store=self.store,
                         secret_key=secrets.token_urlsafe(24), cameras=self.world.cameras, preview_interval_s=0.5,
                         monitor=StaticMonitor(sorted(self.world.cameras)) if self.static_monitor else None)
        self.server = ThreadedServer(app).start()
        return self

    @property
    def url(self) -> str:
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.engine.dispose()
