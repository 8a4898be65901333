"""Types that ingest/ owns: a captured frame and the ``frames.raw`` message headers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

FRAMES_SCHEMA_VERSION = 1


class SourceKind(StrEnum):
    SIMULATOR = "sim"
    VIDEO = "video"
    FOLDER = "folder"
    RTSP = "rtsp"


@dataclass(frozen=True)
class Frame:
    """One JPEG-encoded frame from one camera.

    ``captured_at_ns`` is UTC nanoseconds since the epoch (simulated time for the simulator);
    ``sequence`` counts frames of this camera from 0 and has gaps where frames were dropped.
    """

    camera_id: str
    sequence: int
    captured_at_ns: int
    width: int
    height: int
    source: SourceKind
    jpeg: bytes
