"""Signal phase from drawn lights (day and night), the external feed, and the phase timeline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.signal import FeedSignal, PhaseTracker, PixelSignal, classify_light
from detection.types import SignalPhase as P

LIT = {P.RED: (40, 40, 255), P.YELLOW: (0, 200, 255), P.GREEN: (90, 255, 60)}
UNLIT = {P.RED: (20, 20, 70), P.YELLOW: (15, 55, 70), P.GREEN: (30, 70, 25)}
ORDER = (P.RED, P.YELLOW, P.GREEN)


def draw_light(lit: P | None, *, night: bool, horizontal: bool = False, seed: int = 0):
    """A 320x240 scene with a light housing at (100, 40); returns (image, region)."""
    rng = np.random.default_rng(seed)
    bg = 12 if night else 190
    img = np.full((240, 320, 3), bg, np.uint8)
    img = np.clip(img.astype(int) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
    w, h = (90, 32) if horizontal else (32, 90)
    x, y = 100, 40
    cv2.rectangle(img, (x, y), (x + w, y + h), (35, 35, 35), -1)
    for i, phase in enumerate(ORDER):
        cx, cy = (x + 15 + i * 30, y + 16) if horizontal else (x + 16, y + 15 + i * 30)
        if phase == lit:
            colour = LIT[phase]
            if night:  # a night camera sees a dimmer lamp with a halo
                colour = tuple(int(c * 0.8) for c in colour)
                cv2.circle(img, (cx, cy), 13, tuple(int(c * 0.4) for c in colour), -1)
            cv2.circle(img, (cx, cy), 10, colour, -1)
            cv2.circle(img, (cx, cy), 3, (235, 235, 235), -1)  # white-hot core
        else:
            unlit = (6, 6, 10) if night else UNLIT[phase]
            cv2.circle(img, (cx, cy), 10, unlit, -1)
    return img, (x, y, w, h)


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
@pytest.mark.parametrize("horizontal", [False, True], ids=["vertical", "horizontal"])
@pytest.mark.parametrize("lit", [P.RED, P.YELLOW, P.GREEN, None])
def test_classify_drawn_light(lit, night, horizontal):
    img, region = draw_light(lit, night=night, horizontal=horizontal)
    assert classify_light(img, region) == (lit or P.UNKNOWN)


def test_region_outside_image_is_unknown():
    img, _ = draw_light(P.RED, night=False)
    assert classify_light(img, (1000, 1000, 30, 90)) == P.UNKNOWN


def test_wrong_colour_in_lamp_position_is_unknown():
    # a green glow in the red lamp's position is not a red light
    img, (x, y, w, h) = draw_light(None, night=True)
    cv2.circle(img, (x + 16, y + 15), 10, LIT[P.GREEN], -1)
    assert classify_light(img, (x, y, w, h)) == P.UNKNOWN


def test_pixel_signal_rejects_bad_region():
    with pytest.raises(ValueError, match="region"):
        PixelSignal((0, 0, 0, 10))


def test_feed_signal_schedule_and_callable():
    feed = FeedSignal({0: "green", 5_000: "yellow", 8_000: P.RED})
    assert [feed.observe(None, t) for t in (-1, 0, 4_999, 5_000, 9_000)] == [
        P.UNKNOWN,
        P.GREEN,
        P.GREEN,
        P.YELLOW,
        P.RED,
    ]
    assert FeedSignal(lambda t: P.RED if t > 10 else P.GREEN).observe(None, 11) == P.RED
    with pytest.raises(TypeError):
        FeedSignal(42)  # type: ignore[arg-type]


S = 1_000_000_000


def run_tracker(observations, **kw):
    tracker = PhaseTracker(**kw)
    for i, phase in enumerate(observations):
        tracker.update(phase, i * S // 10)
    return tracker


def test_tracker_dates_red_from_first_observation():
    obs = [P.GREEN] * 10 + [P.YELLOW] * 10 + [P.RED] * 15  # red first seen at t=2.0 s
    tl = run_tracker(obs).timeline()
    assert tl.phase_at(int(2.5 * S)) == P.RED
    since, known = tl.seconds_since_red(int(3.0 * S))
    assert since == pytest.approx(1.0) and known
    assert tl.seconds_since_red(int(1.5 * S)) is None
    assert tl.phase_at(int(1.5 * S)) == P.YELLOW


def test_tracker_ignores_single_glitch_frame():
    obs = [P.RED] * 5 + [P.GREEN] + [P.RED] * 5
    tl = run_tracker([P.GREEN] * 3 + obs).timeline()
    assert [s.phase for s in tl.spans] == [P.GREEN, P.RED]


def test_tracker_started_mid_red_gives_lower_bound():
    tl = run_tracker([P.RED] * 20).timeline()
    since, known = tl.seconds_since_red(int(1.9 * S))
    assert since == pytest.approx(1.9) and not known


def test_tracker_unknown_held_then_dropped():
    tracker = run_tracker([P.RED] * 5 + [P.UNKNOWN] * 5, hold_unknown_s=1.0)
    assert tracker.current == P.RED  # 0.5 s of unknown is held
    tracker = run_tracker([P.RED] * 5 + [P.UNKNOWN] * 20, hold_unknown_s=1.0)
    assert tracker.current == P.UNKNOWN


def test_tracker_rejects_time_going_back():
    tracker = PhaseTracker()
    tracker.update(P.RED, 10)
    with pytest.raises(ValueError, match="time order"):
        tracker.update(P.RED, 5)
