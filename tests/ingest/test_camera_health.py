"""Camera health on synthetic frames: a textured street scene with moving vehicles stays healthy;
covering, blinding, turning and freezing the camera, or silencing it, each gives its verdict."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest.health import CameraHealth, HealthSettings, Verdict, thumbnail

SECOND = 1_000_000_000


def scene(seed: int = 1) -> np.ndarray:
    """A 1280x720 'street': buildings, lane markings, texture."""
    rng = np.random.default_rng(seed)
    img = np.full((720, 1280, 3), 90, np.uint8)
    for _ in range(60):
        x, y = int(rng.integers(0, 1200)), int(rng.integers(0, 300))
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(30, 160)), y + int(rng.integers(30, 200))), colour, -1)
    for x in range(0, 1280, 160):
        cv2.line(img, (x, 720), (640, 360), (240, 240, 240), 4)
    noise = rng.integers(-6, 7, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)


def with_traffic(base: np.ndarray, t: int) -> np.ndarray:
    frame = base.copy()
    for k in range(4):
        x = (t * 37 + k * 300) % 1200
        cv2.rectangle(frame, (x, 420 + 60 * k), (x + 110, 480 + 60 * k), (20 + 50 * k, 60, 200), -1)
    return frame


def feed(health: CameraHealth, frames: list[np.ndarray], start: int = 0, step_s: float = 1.0):  # type: ignore[no-untyped-def]
    judgement = None
    for i, frame in enumerate(frames):
        judgement = health.observe(frame, int((start + i * step_s) * SECOND))
    return judgement


@pytest.fixture
def learnt() -> tuple[CameraHealth, np.ndarray]:
    base = scene()
    health = CameraHealth()
    feed(health, [with_traffic(base, t) for t in range(8)])
    return health, base


def test_traffic_on_a_steady_view_is_healthy(learnt):
    health, base = learnt
    assert health.reference is not None
    judgement = feed(health, [with_traffic(base, t) for t in range(8, 40)], start=8)
    assert judgement.verdict == Verdict.HEALTHY, judgement.detail


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("lens covered (uniform grey)", lambda base: np.full_like(base, 128)),
        ("blinded (black)", lambda base: np.zeros_like(base)),
        ("sprayed (heavy blur)", lambda base: cv2.GaussianBlur(base, (0, 0), 40)),
    ],
)
def test_covered(learnt, name, make):
    health, base = learnt
    judgement = feed(health, [make(base)] * 3, start=8)
    assert judgement.verdict == Verdict.COVERED, (name, judgement.detail)


@pytest.mark.parametrize(
    ("name", "warp"),
    [
        ("panned 12% to the right", np.float32([[1, 0, 150], [0, 1, 0]])),
        ("tilted down 15%", np.float32([[1, 0, 0], [0, 1, 110]])),
        ("rotated 20 degrees", cv2.getRotationMatrix2D((640, 360), 20, 1.0)),
    ],
)
def test_moved_against_the_reference_view(learnt, name, warp):
    health, base = learnt
    frames = [cv2.warpAffine(with_traffic(base, t), warp, (1280, 720), borderMode=cv2.BORDER_REFLECT)
              for t in range(8, 12)]
    judgement = feed(health, frames, start=8)
    assert judgement.verdict == Verdict.MOVED, (name, judgement.detail)


def test_one_odd_frame_is_not_reported(learnt):
    health, base = learnt
    judgement = feed(health, [np.zeros_like(base)], start=8)
    assert judgement.verdict == Verdict.HEALTHY
    judgement = feed(health, [with_traffic(base, 9)], start=9)
    assert judgement.verdict == Verdict.HEALTHY


def test_frozen_after_no_change_for_long_enough(learnt):
    health, base = learnt
    still = with_traffic(base, 50)
    assert feed(health, [still] * 5, start=8, step_s=1.0).verdict == Verdict.HEALTHY
    judgement = feed(health, [still] * 10, start=13, step_s=1.0)
    assert judgement.verdict == Verdict.FROZEN, judgement.detail
    assert feed(health, [with_traffic(base, 51)], start=23).verdict == Verdict.FROZEN  # one frame is not enough
    assert feed(health, [with_traffic(base, t) for t in (52, 53)], start=24).verdict == Verdict.HEALTHY


def test_silent_when_no_frame_arrives(learnt):
    health, base = learnt
    assert health.current(8 * SECOND).verdict == Verdict.HEALTHY
    assert health.current(30 * SECOND).verdict == Verdict.SILENT
    assert CameraHealth().current(0).verdict == Verdict.SILENT


def test_given_reference_view_is_used_at_once():
    base = scene(2)
    health = CameraHealth.with_reference_image(base, HealthSettings(confirm=1))
    assert health.observe(with_traffic(base, 1), 0).verdict == Verdict.HEALTHY
    panned = cv2.warpAffine(with_traffic(base, 2), np.float32([[1, 0, 90], [0, 1, 0]]), (1280, 720),
                            borderMode=cv2.BORDER_REFLECT)  # turned by 7 % of the width
    assert health.observe(panned, SECOND).verdict == Verdict.MOVED


def test_the_reference_follows_slow_change_but_not_a_knock(learnt):
    health, base = learnt
    darker = base
    for t in range(8, 48):  # dusk: 40 s, 1 % darker each second
        darker = cv2.convertScaleAbs(with_traffic(base, t), alpha=1 - 0.01 * (t - 7))
        judgement = health.observe(darker, t * SECOND)
        assert judgement.verdict == Verdict.HEALTHY, (t, judgement.detail)
    knocked = cv2.warpAffine(darker, np.float32([[1, 0, 150], [0, 1, 0]]), (1280, 720), borderMode=cv2.BORDER_REFLECT)
    assert feed(health, [knocked] * 6, start=48).verdict == Verdict.MOVED  # and stays so: never absorbed


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="expected a grey or BGR image"):
        thumbnail(np.zeros((0,), np.uint8))
    with pytest.raises(ValueError, match="learn_frames"):
        HealthSettings(learn_frames=0)


def test_a_knocked_simulated_camera_turns_moved_and_not_before():
    """The simulator's own camera, knocked out of position at 8 s, sampled once a second."""
    from ingest.camera import load_cameras
    from ingest.sim.camera import SimulatedCamera
    from ingest.sim.types import SimOptions

    camera = load_cameras(Path(__file__).resolve().parents[2] / "ingest" / "cameras")["sim-intersection-01"]
    health = CameraHealth()
    letters = ""
    for frame, _ in SimulatedCamera(camera, seed=3, options=SimOptions(fps=1, knocked_at_s=8, warmup_s=5), frames=14):
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        letters += health.observe(image, frame.captured_at_ns).verdict.value[0]
    assert letters[:8] == "h" * 8 and letters.endswith("mmm"), letters
