"""Where frames come from: video files, image folders, RTSP cameras and the scene simulator.

Every source is an iterable of :class:`ingest.types.Frame` for one camera and checks its input
when it is built, with an error that names the input. :func:`make_source` picks one by kind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

import cv2
import numpy as np

from ingest.types import Frame, SourceKind

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
RTSP_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https"})
DEFAULT_JPEG_QUALITY = 85


@runtime_checkable
class CameraSource(Protocol):
    """Frames of one camera, in capture order."""

    def __iter__(self) -> Iterator[Frame]: ...


class SourceError(ValueError):
    """A source that cannot give frames; the message names the input."""


def encode_jpeg(image: np.ndarray, quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SourceError(f"cannot encode a {image.shape} image as JPEG")
    return buf.tobytes()


def _check_fps(fps: float | None, name: str = "fps") -> None:
    if fps is not None and not fps > 0:
        raise SourceError(f"{name}: expected a positive number of frames per second, got {fps}")


class VideoFileSource:
    """Frames of a video file (anything OpenCV/FFmpeg reads), re-encoded as JPEG.

    ``captured_at`` is ``start_ns`` (default: when iteration starts) plus the frame's position in
    the video. ``fps`` below the file's own rate keeps every n-th frame to match it.
    """

    def __init__(
        self,
        path: str | Path,
        camera_id: str,
        fps: float | None = None,
        *,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        loop: bool = False,
        start_ns: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.camera_id = camera_id
        self.jpeg_quality = jpeg_quality
        self.loop = loop
        self.start_ns = start_ns
        _check_fps(fps)
        if not self.path.exists():
            raise SourceError(f"video file {self.path} does not exist")
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} is not a file")
        capture = cv2.VideoCapture(str(self.path))
        try:
            ok, first = capture.read() if capture.isOpened() else (False, None)
            if not ok or first is None:
                raise SourceError(f"{self.path} is not a video OpenCV can read (no frame could be decoded)")
            native = capture.get(cv2.CAP_PROP_FPS)
        finally:
            capture.release()
        self.native_fps = float(native) if native and 0 < native < 1000 else 25.0
        self.fps = min(fps, self.native_fps) if fps is not None else self.native_fps
        self.height, self.width = first.shape[:2]

    def __iter__(self) -> Iterator[Frame]:
        start_ns = self.start_ns if self.start_ns is not None else time.time_ns()
        step_ns = 1e9 / self.fps
        sequence = 0
        while True:
            capture = cv2.VideoCapture(str(self.path))
            index = 0
            next_due = 0.0  # seconds into the video of the next frame to keep
            try:
                while True:
                    ok, image = capture.read()
                    if not ok:
                        break
                    at = index / self.native_fps
                    index += 1
                    if at + 1e-9 < next_due:
                        continue
                    next_due += 1.0 / self.fps
                    yield Frame(
                        camera_id=self.camera_id,
                        sequence=sequence,
                        captured_at_ns=int(start_ns + sequence * step_ns),
                        width=image.shape[1],
                        height=image.shape[0],
                        source=SourceKind.VIDEO,
                        jpeg=encode_jpeg(image, self.jpeg_quality),
                    )
                    sequence += 1
            finally:
                capture.release()
            if not self.loop or index == 0:
                return


class ImageFolderSource:
    """The images of a folder in name order at ``fps``. JPEG files are sent as they are; other
    formats are re-encoded. An unreadable file is skipped with a warning."""

    def __init__(
        self,
        directory: str | Path,
        camera_id: str,
        fps: float = 10.0,
        *,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        loop: bool = False,
        start_ns: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.camera_id = camera_id
        _check_fps(fps)
        self.fps = fps
        self.jpeg_quality = jpeg_quality
        self.loop = loop
        self.start_ns = start_ns
        if not self.directory.exists():
            raise SourceError(f"image folder {self.directory} does not exist")
        if not self.directory.is_dir():
            raise SourceError(f"image folder {self.directory} is not a folder")
        self.files = sorted(
            p for p in self.directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not self.files:
            raise SourceError(
                f"image folder {self.directory} has no images "
                f"(expected files ending in {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        self.skipped: list[Path] = []

    def __iter__(self) -> Iterator[Frame]:
        start_ns = self.start_ns if self.start_ns is not None else time.time_ns()
        sequence = 0
        while True:
            read_any = False
            for path in self.files:
                data = path.read_bytes()
                image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    log.warning("camera %s: %s is not a readable image, skipped", self.camera_id, path)
                    self.skipped.append(path)
                    continue
                read_any = True
                jpeg = (
                    data
                    if path.suffix.lower() in (".jpg", ".jpeg")
                    else encode_jpeg(image, self.jpeg_quality)
                )
                yield Frame(
                    camera_id=self.camera_id,
                    sequence=sequence,
                    captured_at_ns=int(start_ns + sequence * 1e9 / self.fps),
                    width=image.shape[1],
                    height=image.shape[0],
                    source=SourceKind.FOLDER,
                    jpeg=jpeg,
                )
                sequence += 1
            if not self.loop or not read_any:
                return


class RtspSource:
    """A live camera stream (RTSP, or HTTP/RTMP) through OpenCV's FFmpeg backend.

    On a failed open or read it reconnects after a back-off that doubles from ``backoff_s`` up to
    ``max_backoff_s``; after ``max_attempts`` consecutive failures (None: never give up) it raises
    :class:`SourceError`. ``captured_at`` is the wall clock at read. ``sequence`` keeps counting
    across reconnects, and jumps by the frames missed while away (estimated from ``fps``).
    Setting ``stop`` ends the iteration.
    """

    def __init__(
        self,
        url: str,
        camera_id: str,
        *,
        fps: float | None = None,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        max_attempts: int | None = None,
        stop: threading.Event | None = None,
        open_capture: Callable[[str], Any] | None = None,
    ) -> None:
        parsed = urlparse(url)
        try:
            port = parsed.port
        except ValueError:
            port = -1
        if parsed.scheme not in RTSP_SCHEMES or not parsed.hostname or port == -1:
            shown = url.split("@")[-1] if "@" in url else url  # never echo credentials
            raise SourceError(
                f"camera {camera_id}: expected a stream URL like rtsp://host/path, got {shown!r}"
            )
        self.display_url = parsed._replace(netloc=parsed.hostname + (f":{port}" if port else "")).geturl()
        _check_fps(fps)
        if backoff_s <= 0 or max_backoff_s < backoff_s:
            raise SourceError(f"expected 0 < backoff_s <= max_backoff_s, got {backoff_s} and {max_backoff_s}")
        self.url = url
        self.camera_id = camera_id
        self.fps = fps
        self.jpeg_quality = jpeg_quality
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_attempts = max_attempts
        self.stop = stop or threading.Event()
        self._open = open_capture or (lambda u: cv2.VideoCapture(u, cv2.CAP_FFMPEG))
        self.reconnects = 0

    def __iter__(self) -> Iterator[Frame]:
        sequence = 0
        failures = 0
        delay = self.backoff_s
        last_read_ns: int | None = None
        while not self.stop.is_set():
            capture = self._open(self.url)
            try:
                if capture.isOpened():
                    fps = self.fps or capture.get(cv2.CAP_PROP_FPS) or 0
                    while not self.stop.is_set():
                        ok, image = capture.read()
                        if not ok or image is None:
                            break
                        now = time.time_ns()
                        if last_read_ns is not None and fps and failures:
                            sequence += max(0, round((now - last_read_ns) * fps / 1e9) - 1)
                        failures, delay, last_read_ns = 0, self.backoff_s, now
                        yield Frame(
                            camera_id=self.camera_id,
                            sequence=sequence,
                            captured_at_ns=now,
                            width=image.shape[1],
                            height=image.shape[0],
                            source=SourceKind.RTSP,
                            jpeg=encode_jpeg(image, self.jpeg_quality),
                        )
                        sequence += 1
            finally:
                capture.release()
            if self.stop.is_set():
                return
            failures += 1
            if self.max_attempts is not None and failures >= self.max_attempts:
                raise SourceError(
                    f"camera {self.camera_id}: no frames from {self.display_url} after {failures} attempts"
                )
            log.warning(
                "camera %s: stream %s lost (attempt %d); reconnecting in %.1f s",
                self.camera_id,
                self.display_url,
                failures,
                delay,
            )
            self.reconnects += 1
            self.stop.wait(delay)
            delay = min(delay * 2, self.max_backoff_s)


class SimSource:
    """Frames of the scene simulator (``ingest.sim.camera.SimulatedCamera``) without the ground
    truth; ``camera`` is a :class:`CameraConfig` or a camera YAML path. ``frames`` limits the count
    (None: forever). The simulator is imported when iteration starts."""

    def __init__(
        self,
        camera: Any,
        *,
        seed: int = 0,
        options: Any = None,
        start_ns: int | None = None,
        frames: int | None = None,
    ) -> None:
        from ingest.camera import CameraConfig, load_camera

        if isinstance(camera, str | Path):
            camera = load_camera(camera)
        if not isinstance(camera, CameraConfig):
            raise SourceError(f"expected a CameraConfig or a camera YAML path, got {type(camera).__name__}")
        if frames is not None and frames < 0:
            raise SourceError(f"frames: expected >= 0 or None, got {frames}")
        self.camera = camera
        self.camera_id = camera.id
        self.seed = seed
        self.options = options
        self.start_ns = start_ns
        self.frames = frames

    def __iter__(self) -> Iterator[Frame]:
        simulated_camera = _simulated_camera_class()
        kwargs: dict[str, Any] = {"seed": self.seed, "options": self.options, "frames": self.frames}
        if self.start_ns is not None:
            kwargs["start_ns"] = self.start_ns
        for frame, _truth in simulated_camera(self.camera, **kwargs):
            yield frame


def _simulated_camera_class() -> Any:
    """``SimulatedCamera`` from the simulator package, imported only when a SimSource runs."""
    import importlib

    for module_name in ("ingest.sim.camera", "ingest.sim"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, "SimulatedCamera"):
            return module.SimulatedCamera
    raise SourceError("the scene simulator is not available: no SimulatedCamera in ingest.sim")


SOURCES: dict[str, Callable[..., CameraSource]] = {
    SourceKind.VIDEO.value: VideoFileSource,
    SourceKind.FOLDER.value: ImageFolderSource,
    SourceKind.RTSP.value: RtspSource,
    SourceKind.SIMULATOR.value: SimSource,
}


def make_source(kind: str, **kwargs: Any) -> CameraSource:
    """The source of ``kind`` (``video``, ``folder``, ``rtsp``, ``sim``) built from ``kwargs``."""
    try:
        factory = SOURCES[str(kind)]
    except KeyError:
        raise ValueError(
            f"unknown source kind {kind!r}: expected one of {', '.join(sorted(SOURCES))}"
        ) from None
    return factory(**kwargs)
