"""The operator's camera wall and alert list, assembled from the database (the detection
worker's ``camera_status`` rows, cases of the last hour, the outbox) and the pipeline monitor's
Kafka snapshot (ingest heartbeats, consumer lag, dead letters)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from cases.models import Camera, CameraStatus, Case, OutboxMessage
from ingest.health import VERDICT_VI, Verdict
from phatnguoi.web.monitor import Snapshot

LAG_ALERT = 200  # messages behind on one topic
HEARTBEAT_STALE_S = 30.0
UNKNOWN = "unknown"  # a camera detection has never reported on


@dataclass(frozen=True)
class Tile:
    camera_id: str
    name: str
    address: str
    verdict: str
    verdict_vi: str
    detail: str
    fps_in: float | None
    dropped: int | None
    fps_processed: float | None
    latency_ms: float | None
    violations_hour: int
    last_frame_at: datetime | None
    has_preview: bool

    @property
    def healthy(self) -> bool:
        return self.verdict == Verdict.HEALTHY

    @property
    def known(self) -> bool:
        return self.verdict != UNKNOWN


@dataclass(frozen=True)
class Alert:
    level: str  # "bad" | "warn"
    text: str


def tiles(session: Session, snapshot: Snapshot, *, names: Mapping[str, tuple[str, str]] | None = None,
          now: datetime | None = None) -> list[Tile]:
    """One tile per camera known to the database, the detection worker or the configuration."""
    now = now or datetime.now(UTC)
    cameras = {c.id: (c.name, c.address) for c in session.scalars(select(Camera))}
    for camera_id, label in (names or {}).items():
        cameras.setdefault(camera_id, label)
    statuses = {s.camera_id: s for s in session.scalars(select(CameraStatus).options(defer(CameraStatus.preview_jpeg)))}
    with_preview = set(session.scalars(select(CameraStatus.camera_id).where(CameraStatus.preview_jpeg.is_not(None))))
    per_hour = dict(
        session.execute(
            select(Case.camera_id, func.count())
            .where(Case.created_at >= now - timedelta(hours=1))
            .group_by(Case.camera_id)
        ).tuples().all()
    )
    out = []
    for camera_id in sorted(set(cameras) | set(statuses) | set(snapshot.heartbeats)):
        name, address = cameras.get(camera_id, (camera_id, ""))
        status = statuses.get(camera_id)
        beat = snapshot.heartbeats.get(camera_id)
        if status is None:  # configured, never seen by detection: not judged (intake holds nothing either)
            verdict, verdict_vi, detail = UNKNOWN, "Chưa có dữ liệu", "bộ phát hiện chưa nhận khung hình nào"
        else:
            judged = Verdict(status.effective_verdict(now))
            verdict, verdict_vi = str(judged), VERDICT_VI[judged]
            detail = {Verdict.SILENT: "không nhận được khung hình",
                      Verdict.DISABLED: status.disabled_reason or ""}.get(judged, status.detail)
        out.append(Tile(
            camera_id=camera_id, name=name, address=address, verdict=verdict, verdict_vi=verdict_vi,
            detail=detail,
            fps_in=beat.fps if beat else None, dropped=beat.frames_dropped if beat else None,
            fps_processed=status.fps_processed if status else None,
            latency_ms=status.latency_ms if status else None,
            violations_hour=per_hour.get(camera_id, 0),
            last_frame_at=status.last_frame_at if status else None,
            has_preview=camera_id in with_preview,
        ))
    return out


def alerts(session: Session, snapshot: Snapshot, wall: list[Tile], *, monitored: bool) -> list[Alert]:
    """What needs a person now, worst first."""
    found: list[Alert] = []
    for tile in wall:
        if tile.known and not tile.healthy:
            found.append(Alert("bad", f"Camera {tile.camera_id}: {tile.verdict_vi.lower()} ({tile.detail}); "
                                      "vi phạm mới được giữ lại để duyệt"))
    if monitored:
        if snapshot.error:
            found.append(Alert("bad", f"Không đọc được Kafka: {snapshot.error}"))
        for lag in snapshot.lags:
            if lag.lag > LAG_ALERT:
                found.append(Alert("warn", f"Nhóm {lag.group} chậm {lag.lag} tin trên {lag.topic}"))
        for topic, count in snapshot.dead_letters.items():
            if count:
                found.append(Alert("warn", f"{count} tin lỗi trong {topic}"))
        now_s = datetime.now(UTC).timestamp()
        for beat in snapshot.heartbeats.values():
            if now_s - beat.received_at > HEARTBEAT_STALE_S:
                found.append(Alert("warn", f"Camera {beat.camera_id}: không có nhịp tim từ ingest "
                                           f"trong {now_s - beat.received_at:.0f} s"))
            elif beat.frames_dropped:
                found.append(Alert("warn", f"Camera {beat.camera_id}: {beat.frames_dropped} khung hình bị bỏ"))
    failing = session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.processed_at.is_(None), OutboxMessage.last_error.is_not(None))
    ) or 0
    if failing:
        found.append(Alert("warn", f"{failing} việc trong outbox đang lỗi (thông báo chưa gửi được)"))
    return sorted(found, key=lambda a: a.level != "bad")
