"""The detection worker's eye on its cameras (a ``DetectionStage`` ``on_frame`` hook).

About once a second per camera it judges the camera's health against its reference view
(``ingest.health``), draws the frame's detections and the camera's zones onto a downscaled copy,
and writes both, with the processing rate and the detection latency, into the camera's
``camera_status`` row. The operator's wall and live view read that row; intake reads the verdict
and holds the camera's new cases for review while it is not healthy.

The reference view of each camera is kept as ``<reference_dir>/<camera>.png``: loaded when it
exists (an installer may put one there), otherwise learnt from the first frames and saved.
A failure here is logged and never stops detection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from prometheus_client import Gauge
from sqlalchemy.orm import Session, sessionmaker

from cases.models import CameraStatus
from detection.types import Detection, ObjectClass
from ingest.camera import CameraConfig
from ingest.health import CameraHealth, HealthSettings, Verdict
from ingest.types import Frame

log = logging.getLogger(__name__)

HEALTHY = Gauge("phatnguoi_camera_healthy", "1 while the camera's view matches its reference, else 0.", ["camera"])
FPS = Gauge("phatnguoi_camera_frames_per_second", "Frames per second the detection stage processed.", ["camera"])
LATENCY = Gauge("phatnguoi_camera_detection_latency_seconds", "Capture to detection done, last frame.", ["camera"])

BOX_COLOURS = {ObjectClass.PLATE: (0, 215, 255)}  # BGR: plates yellow, vehicles green
VEHICLE_COLOUR = (80, 200, 60)
ZONE_COLOUR = (255, 255, 255)


@dataclass
class _Camera:
    health: CameraHealth
    next_at: float = 0.0
    frames: int = 0
    frames_at_last: int = 0
    last_at: float = field(default_factory=time.monotonic)
    saved_reference: bool = False


def annotate(image: np.ndarray, detections: list[Detection], camera: CameraConfig | None, *, width: int) -> bytes:
    """A JPEG of ``image`` scaled to ``width`` with the camera's zones and the detections drawn."""
    h, w = image.shape[:2]
    scale = width / w
    small = cv2.resize(image, (width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)

    def pt(p: tuple[float, float]) -> tuple[int, int]:
        return round(p[0] * scale), round(p[1] * scale)

    if camera is not None:
        for lane in camera.lanes:
            cv2.polylines(small, [np.array([pt(p) for p in lane.polygon], np.int32)], True, ZONE_COLOUR, 1, cv2.LINE_AA)
        for zone in camera.no_stopping:
            cv2.polylines(small, [np.array([pt(p) for p in zone.polygon], np.int32)], True, (0, 140, 255), 1)
        if camera.stop_line is not None:
            cv2.line(small, pt(camera.stop_line[0]), pt(camera.stop_line[1]), (60, 60, 255), 2, cv2.LINE_AA)
        if camera.speed is not None:
            for line in (camera.speed.entry, camera.speed.exit):
                cv2.line(small, pt(line[0]), pt(line[1]), (255, 200, 0), 1, cv2.LINE_AA)
    for d in detections:
        colour = BOX_COLOURS.get(d.cls, VEHICLE_COLOUR)
        thickness = 1 if d.cls == ObjectClass.PLATE else 2
        cv2.rectangle(small, pt((d.box.x1, d.box.y1)), pt((d.box.x2, d.box.y2)), colour, thickness)
        if d.cls != ObjectClass.PLATE:
            label = f"{d.cls.value}{'' if d.track_id is None else f' #{d.track_id}'}"
            x, y = pt((d.box.x1, d.box.y1))
            cv2.putText(small, label, (x, max(10, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    if not ok:
        raise ValueError("could not encode the preview JPEG")
    return jpeg.tobytes()


class CameraWatch:
    """``on_frame(frame, image, detections)``: health, preview and rates into ``camera_status``."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        cameras: Mapping[str, CameraConfig],
        *,
        reference_dir: Path | None = None,
        every_s: float = 1.0,
        preview_width: int = 640,
        settings: HealthSettings | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.cameras = dict(cameras)
        self.reference_dir = reference_dir
        self.every_s = every_s
        self.preview_width = preview_width
        self.settings = settings or HealthSettings()
        self._state: dict[str, _Camera] = {}

    def _camera(self, camera_id: str) -> _Camera:
        state = self._state.get(camera_id)
        if state is None:
            health = CameraHealth(settings=self.settings)
            path = self.reference_dir / f"{camera_id}.png" if self.reference_dir else None
            if path is not None and path.exists():
                reference = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
                if reference is not None:
                    health = CameraHealth.with_reference_image(reference, self.settings)
            state = self._state[camera_id] = _Camera(health=health, saved_reference=health.reference is not None)
        return state

    def __call__(self, frame: Frame, image: np.ndarray, detections: list[Detection]) -> None:
        try:
            self._observe(frame, image, detections)
        except Exception:  # the operator's view must never stop detection
            log.exception("camera watch: camera %s frame %d", frame.camera_id, frame.sequence)

    def _observe(self, frame: Frame, image: np.ndarray, detections: list[Detection]) -> None:
        state = self._camera(frame.camera_id)
        state.frames += 1
        now = time.monotonic()
        if now < state.next_at:
            return
        state.next_at = now + self.every_s
        judgement = state.health.observe(image, frame.captured_at_ns)
        reference = state.health.reference_image()
        if not state.saved_reference and reference is not None and self.reference_dir is not None:
            self.reference_dir.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(self.reference_dir / f"{frame.camera_id}.png"), reference)
            state.saved_reference = True
        elapsed = now - state.last_at
        fps = (state.frames - state.frames_at_last) / elapsed if elapsed > 0 else 0.0
        state.frames_at_last, state.last_at = state.frames, now
        latency_s = max(0.0, (time.time_ns() - frame.captured_at_ns) / 1e9)
        jpeg = annotate(image, detections, self.cameras.get(frame.camera_id), width=self.preview_width)
        HEALTHY.labels(frame.camera_id).set(1 if judgement.verdict == Verdict.HEALTHY else 0)
        FPS.labels(frame.camera_id).set(fps)
        LATENCY.labels(frame.camera_id).set(latency_s)
        moment = datetime.now(UTC)
        with self.session_factory() as session:
            row = session.get(CameraStatus, frame.camera_id)
            if row is None:
                row = CameraStatus(camera_id=frame.camera_id, silent_after_s=self.settings.silent_after_s)
                session.add(row)
            row.verdict, row.detail = str(judgement.verdict), judgement.detail
            row.updated_at = row.last_frame_at = moment
            row.frames_processed = state.frames
            row.fps_processed, row.latency_ms = round(fps, 2), round(latency_s * 1000, 1)
            row.detections = sum(1 for d in detections if d.cls != ObjectClass.PLATE)
            row.preview_jpeg = jpeg
            session.commit()
