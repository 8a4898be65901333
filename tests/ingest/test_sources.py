"""Frame sources on real files written here: image folders, video files, a stream over HTTP."""

from __future__ import annotations

import functools
import http.server
import itertools
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest.producer import decode_pixels, jpeg_size
from ingest.sources import (
    CameraSource,
    ImageFolderSource,
    RtspSource,
    SimSource,
    SourceError,
    VideoFileSource,
    make_source,
)
from ingest.types import SourceKind


def image(i: int, width: int = 96, height: int = 64) -> np.ndarray:
    img = np.full((height, width, 3), 30, np.uint8)
    cv2.putText(img, str(i), (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
    return img


def write_video(path: Path, frames: int, fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (96, 64))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(image(i))
    writer.release()
    return path


def test_image_folder_in_name_order_with_timestamps_from_fps(tmp_path):
    cv2.imwrite(str(tmp_path / "b.png"), image(1))
    cv2.imwrite(str(tmp_path / "a.jpg"), image(0))
    cv2.imwrite(str(tmp_path / "c.jpg"), image(2, width=128))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")

    source = ImageFolderSource(tmp_path, "cam-01", fps=4, start_ns=1_000)
    assert isinstance(source, CameraSource)
    frames = list(source)

    assert [f.sequence for f in frames] == [0, 1, 2]
    assert [f.captured_at_ns for f in frames] == [1_000, 1_000 + 250_000_000, 1_000 + 500_000_000]
    assert frames[0].jpeg == (tmp_path / "a.jpg").read_bytes()  # JPEGs are passed through
    assert [(f.width, f.height) for f in frames] == [(96, 64), (96, 64), (128, 64)]
    assert all(jpeg_size(f.jpeg) == (f.width, f.height) for f in frames)  # the PNG was re-encoded
    assert {f.source for f in frames} == {SourceKind.FOLDER}
    assert source.skipped == [tmp_path / "broken.jpg"]


def test_image_folder_loops_when_asked(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), image(0))
    cv2.imwrite(str(tmp_path / "b.jpg"), image(1))
    frames = list(itertools.islice(ImageFolderSource(tmp_path, "cam-01", fps=10, loop=True), 5))
    assert [f.sequence for f in frames] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "has no images"),
        (lambda p: (p / "f.jpg").write_bytes(b"x") and p / "f.jpg", "is not a folder"),
    ],
    ids=["missing", "empty", "a file"],
)
def test_image_folder_rejects_bad_input(tmp_path, setup, expected):
    with pytest.raises(SourceError, match=expected):
        ImageFolderSource(setup(tmp_path), "cam-01", fps=10)


def test_image_folder_rejects_zero_fps(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), image(0))
    with pytest.raises(SourceError, match="fps: expected a positive"):
        ImageFolderSource(tmp_path, "cam-01", fps=0)


def test_video_file_frames_and_times(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=12, fps=10)
    source = VideoFileSource(path, "cam-02", start_ns=5_000_000_000)
    frames = list(source)

    assert source.native_fps == pytest.approx(10)
    assert len(frames) == 12
    assert [f.sequence for f in frames] == list(range(12))
    assert frames[3].captured_at_ns == 5_000_000_000 + 300_000_000
    assert {(f.width, f.height, f.source, f.camera_id) for f in frames} == {
        (96, 64, SourceKind.VIDEO, "cam-02")
    }
    assert decode_pixels(frames[0]).shape == (64, 96, 3)


def test_video_file_subsamples_to_a_lower_fps(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=12, fps=10)
    frames = list(VideoFileSource(path, "cam-02", fps=5, start_ns=0))
    assert len(frames) == 6
    assert [f.captured_at_ns for f in frames[:3]] == [0, 200_000_000, 400_000_000]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing.mp4", "does not exist"),
        (lambda p: p, "is not a file"),
        (lambda p: (p / "fake.mp4").write_bytes(b"\x00" * 1000) and p / "fake.mp4", "is not a video"),
    ],
    ids=["missing", "a folder", "not a video"],
)
def test_video_file_rejects_bad_input(tmp_path, make, expected):
    with pytest.raises(SourceError, match=expected):
        VideoFileSource(make(tmp_path), "cam-02")


def test_rtsp_source_rejects_a_bad_url():
    with pytest.raises(SourceError, match="expected a stream URL like rtsp://host/path"):
        RtspSource("/dev/video0", "cam-03")


def test_rtsp_source_gives_up_after_max_attempts():
    source = RtspSource("rtsp://user:pw@127.0.0.1:1/stream", "cam-03", backoff_s=0.01, max_attempts=3)
    with pytest.raises(SourceError) as info:
        next(iter(source))
    assert "no frames from rtsp://127.0.0.1:1/stream after 3 attempts" in str(info.value)
    assert "pw" not in str(info.value)  # credentials are not logged
    assert source.reconnects == 2


def test_stream_source_reconnects_when_the_stream_ends(tmp_path):
    write_video(tmp_path / "clip.avi", frames=5, fps=10)
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        stop = threading.Event()
        source = RtspSource(
            f"http://127.0.0.1:{server.server_port}/clip.avi",
            "cam-03",
            fps=10,
            backoff_s=0.01,
            max_attempts=5,
            stop=stop,
        )
        frames = list(itertools.islice(source, 12))  # more than one pass of the 5-frame clip
        stop.set()
    finally:
        server.shutdown()
    assert len(frames) == 12
    assert source.reconnects >= 2
    sequences = [f.sequence for f in frames]
    assert sequences == sorted(set(sequences)), "sequence numbers keep growing across reconnects"
    assert {f.source for f in frames} == {SourceKind.RTSP}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def test_make_source_by_kind_and_unknown_kind(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), image(0))
    source = make_source("folder", directory=tmp_path, camera_id="cam-01", fps=5)
    assert isinstance(source, ImageFolderSource)
    with pytest.raises(
        ValueError, match="unknown source kind 'webcam': expected one of folder, rtsp, sim, video"
    ):
        make_source("webcam")


def test_sim_source_yields_the_simulators_frames():
    camera = Path(__file__).resolve().parents[2] / "ingest" / "cameras" / "sim-intersection-01.yaml"
    frames = list(make_source("sim", camera=camera, seed=3, frames=3, start_ns=1_000_000_000))
    assert [f.sequence for f in frames] == [0, 1, 2]
    assert frames[0].captured_at_ns == 1_000_000_000
    assert frames[1].captured_at_ns > frames[0].captured_at_ns
    assert {f.source for f in frames} == {SourceKind.SIMULATOR}
    assert all(jpeg_size(f.jpeg) == (f.width, f.height) for f in frames)
    again = list(SimSource(camera, seed=3, frames=1, start_ns=1_000_000_000))
    assert again[0].jpeg == frames[0].jpeg  # deterministic for the same seed


def test_sim_source_rejects_a_bad_camera(tmp_path):
    with pytest.raises(SourceError, match="expected a CameraConfig"):
        SimSource(42)
