"""Operator pages: the camera wall (last annotated frame, health, rates, latency, lag, violations
per hour), the alert list, one camera's live view (MJPEG), and the pipeline summary.

Previews travel through the database: the detection worker writes a downscaled annotated JPEG
per camera about once a second into its ``camera_status`` row; these pages and the MJPEG stream
read that row. One small row per camera, no extra topic or service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cases.models import Camera, CameraStatus, Case, OutboxMessage
from ingest.health import VERDICT_VI, Verdict
from phatnguoi.web.deps import CurrentOperator, SessionDep
from phatnguoi.web.monitor import Snapshot
from phatnguoi.web.pages import page
from phatnguoi.web.wall import alerts, tiles

router = APIRouter(prefix="/operator", tags=["operator"])

STREAM_MAX_FRAMES = 600  # a live view ends after 10 minutes at 1 frame/s: reload to continue
BOUNDARY = "frame"


@dataclass(frozen=True)
class Health:
    database: bool
    cases_by_status: dict[str, int]
    outbox_pending: int
    outbox_failing: int
    cameras: int


def health(session: Session) -> Health:
    session.execute(text("SELECT 1"))
    by_status = dict(session.execute(select(Case.status, func.count()).group_by(Case.status)).tuples().all())
    pending = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.processed_at.is_(None))
    ) or 0
    failing = session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.processed_at.is_(None), OutboxMessage.last_error.is_not(None))
    ) or 0
    cameras = session.scalar(select(func.count()).select_from(Camera)) or 0
    return Health(database=True, cases_by_status=by_status, outbox_pending=pending, outbox_failing=failing,
                  cameras=cameras)


def snapshot_of(request: Request) -> tuple[Snapshot, bool]:
    monitor = request.app.state.monitor
    return (monitor.snapshot(), True) if monitor is not None else (Snapshot(), False)


@router.get("/")
def wall_page(request: Request, session: SessionDep, user: CurrentOperator) -> Response:
    snapshot, monitored = snapshot_of(request)
    wall = tiles(session, snapshot, names=request.app.state.camera_names)
    return page(request, "operator_wall.html", user=user, wall=wall, snapshot=snapshot, monitored=monitored,
                alerts=alerts(session, snapshot, wall, monitored=monitored), health=health(session),
                now=datetime.now(UTC))


@router.get("/cameras/{camera_id}")
def camera_page(request: Request, camera_id: str, session: SessionDep, user: CurrentOperator) -> Response:
    snapshot, _ = snapshot_of(request)
    found = [t for t in tiles(session, snapshot, names=request.app.state.camera_names) if t.camera_id == camera_id]
    if not found:
        raise HTTPException(status_code=404, detail=f"no camera {camera_id!r}")
    return page(request, "operator_camera.html", user=user, tile=found[0], verdicts=VERDICT_VI,
                healthy=Verdict.HEALTHY)


def _preview(request: Request, camera_id: str) -> bytes | None:
    with request.app.state.session_factory() as session:
        return session.scalar(select(CameraStatus.preview_jpeg).where(CameraStatus.camera_id == camera_id))


@router.get("/cameras/{camera_id}/preview.jpg")
def preview(camera_id: str, session: SessionDep, user: CurrentOperator) -> Response:
    jpeg = session.scalar(select(CameraStatus.preview_jpeg).where(CameraStatus.camera_id == camera_id))
    if not jpeg:
        raise HTTPException(status_code=404, detail=f"no preview of camera {camera_id!r} yet")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/cameras/{camera_id}/live.mjpg")
async def live(
    request: Request, camera_id: str, session: SessionDep, user: CurrentOperator, frames: int = STREAM_MAX_FRAMES
) -> Response:
    """The camera's annotated preview as ``multipart/x-mixed-replace`` (an ``<img>`` plays it).

    The request's own session (the sign-in check) is closed before streaming: a stream lasts
    minutes, and on SQLite an open transaction holds the write lock. Each frame is read in a
    short session of its own."""
    await run_in_threadpool(session.close)
    if await run_in_threadpool(_preview, request, camera_id) is None:
        raise HTTPException(status_code=404, detail=f"no preview of camera {camera_id!r} yet")
    frames = min(max(frames, 1), STREAM_MAX_FRAMES)
    interval = request.app.state.preview_interval_s

    async def parts() -> AsyncIterator[bytes]:
        for n in range(frames):
            if await request.is_disconnected():
                return
            jpeg = await run_in_threadpool(_preview, request, camera_id)
            if jpeg:
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                       + jpeg + b"\r\n")
            if n + 1 < frames:
                await asyncio.sleep(interval)

    return StreamingResponse(parts(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store"})
