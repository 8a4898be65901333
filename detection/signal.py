"""Traffic-signal phase: classified from the light's pixels, or taken from an external feed.

Two layers:

* a *source* says what the phase looks like on one frame (``PixelSignal`` reads the lamp housing
  in the image; ``FeedSignal`` asks a signal-controller feed, a callable or a schedule of
  timestamps), both behind ``SignalSource.observe(image, t_ns)``;
* ``PhaseTracker`` turns those per-frame observations into a timeline: when each phase began, so
  a rule can ask "what was the phase at the crossing instant, and how long had it been red?".

The timeline is honest about what it does not know: when the stream starts in the middle of a
red phase, the red start is only bounded from below (``start_known=False``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from detection.types import SignalPhase
from ingest.camera import CameraConfig
from ingest.camera import SignalSource as SignalSourceKind

_LAMPS = (SignalPhase.RED, SignalPhase.YELLOW, SignalPhase.GREEN)
# OpenCV hue is 0..179. Red wraps around 0.
_HUE_RANGES: dict[SignalPhase, tuple[tuple[int, int], ...]] = {
    SignalPhase.RED: ((0, 10), (165, 179)),
    SignalPhase.YELLOW: ((11, 38),),
    SignalPhase.GREEN: ((39, 100),),
}


# --- per-frame classification from pixels ------------------------------------------------------


@dataclass(frozen=True)
class LampScores:
    """Brightness of each lamp (mean V of its brightest pixels, 0..255) and the hue evidence."""

    brightness: dict[SignalPhase, float]
    hue_match: dict[SignalPhase, float]  # share of bright saturated pixels with the lamp's hue


def _hue_in(h: np.ndarray, phase: SignalPhase) -> np.ndarray:
    mask = np.zeros(h.shape, dtype=bool)
    for lo, hi in _HUE_RANGES[phase]:
        mask |= (h >= lo) & (h <= hi)
    return mask


def lamp_scores(image: np.ndarray, region: tuple[int, int, int, int]) -> LampScores | None:
    """Score the three lamp positions inside ``region`` (x, y, w, h); None if the region is empty.

    A tall housing is read top to bottom (red, yellow, green); a wide one left to right.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a BGR image (H, W, 3), got shape {image.shape}")
    x, y, w, h = region
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(image.shape[1], int(x + w)), min(image.shape[0], int(y + h))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    hsv = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    vertical = (y1 - y0) >= (x1 - x0)
    length = hsv.shape[0] if vertical else hsv.shape[1]
    brightness: dict[SignalPhase, float] = {}
    hue_match: dict[SignalPhase, float] = {}
    for i, phase in enumerate(_LAMPS):
        a, b = i * length // 3, (i + 1) * length // 3
        cell = hsv[a:b] if vertical else hsv[:, a:b]
        v = cell[..., 2].reshape(-1).astype(np.float32)
        k = max(1, v.size // 8)
        top = np.argpartition(v, v.size - k)[v.size - k :]
        brightness[phase] = float(v[top].mean())
        # hue evidence: bright pixels with some colour (a lamp's white-hot core has none)
        s = cell[..., 1].reshape(-1)[top]
        hh = cell[..., 0].reshape(-1)[top]
        coloured = s >= 60
        hue_match[phase] = float(_hue_in(hh[coloured], phase).mean()) if coloured.any() else -1.0
    return LampScores(brightness, hue_match)


@dataclass(frozen=True)
class PixelThresholds:
    """A lamp counts as lit when its brightness is at least ``min_brightness`` and beats the
    next-brightest lamp by ``min_margin``; night scenes pass because the comparison is relative."""

    min_brightness: float = 110.0
    min_margin: float = 35.0
    min_hue_match: float = 0.25


def classify_light(
    image: np.ndarray,
    region: tuple[int, int, int, int],
    thresholds: PixelThresholds = PixelThresholds(),
) -> SignalPhase:
    """The lit lamp's phase, or UNKNOWN when no single lamp is clearly lit (or its colour is
    clearly another lamp's colour)."""
    scores = lamp_scores(image, region)
    if scores is None:
        return SignalPhase.UNKNOWN
    ranked = sorted(_LAMPS, key=lambda p: scores.brightness[p], reverse=True)
    best, second = ranked[0], ranked[1]
    if scores.brightness[best] < thresholds.min_brightness:
        return SignalPhase.UNKNOWN
    if scores.brightness[best] - scores.brightness[second] < thresholds.min_margin:
        return SignalPhase.UNKNOWN
    match = scores.hue_match[best]
    if 0 <= match < thresholds.min_hue_match:
        return SignalPhase.UNKNOWN
    return best


# --- sources behind one interface ---------------------------------------------------------------


class SignalSource(Protocol):
    def observe(self, image: np.ndarray | None, t_ns: int) -> SignalPhase:
        """The phase shown at ``t_ns`` (``image`` is the frame captured then, if any)."""
        ...


class PixelSignal:
    """Phase read from the light housing in the frame."""

    def __init__(
        self, region: tuple[int, int, int, int], thresholds: PixelThresholds = PixelThresholds()
    ) -> None:
        if len(region) != 4 or region[2] <= 0 or region[3] <= 0:
            raise ValueError(f"expected a signal region (x, y, w, h) with w, h > 0, got {region}")
        self.region = tuple(int(v) for v in region)
        self.thresholds = thresholds

    def observe(self, image: np.ndarray | None, t_ns: int) -> SignalPhase:
        if image is None:
            return SignalPhase.UNKNOWN
        return classify_light(image, self.region, self.thresholds)  # type: ignore[arg-type]


PhaseFeed = Callable[[int], SignalPhase] | Mapping[int, SignalPhase | str]


class FeedSignal:
    """Phase from a signal controller: a callable ``t_ns -> phase``, or a schedule
    ``{t_ns: phase}`` meaning "this phase from this instant on" (UNKNOWN before the first)."""

    def __init__(self, feed: PhaseFeed) -> None:
        if callable(feed):
            self._fn: Callable[[int], SignalPhase] = feed
        elif isinstance(feed, Mapping):
            items = sorted((int(t), SignalPhase(p)) for t, p in feed.items())
            self._times = np.array([t for t, _ in items], dtype=np.int64)
            self._phases = [p for _, p in items]
            self._fn = self._lookup
        else:
            raise TypeError(f"expected a callable or a mapping of t_ns -> phase, got {type(feed).__name__}")

    def _lookup(self, t_ns: int) -> SignalPhase:
        i = int(np.searchsorted(self._times, t_ns, side="right")) - 1
        return self._phases[i] if i >= 0 else SignalPhase.UNKNOWN

    def observe(self, image: np.ndarray | None, t_ns: int) -> SignalPhase:
        return SignalPhase(self._fn(t_ns))


def source_for(camera: CameraConfig, feed: PhaseFeed | None = None) -> SignalSource | None:
    """The signal source a camera's configuration asks for; None when it has no signal.

    A ``topic`` camera needs ``feed`` (the consumer of that topic supplies it)."""
    if camera.signal is None:
        return None
    if camera.signal.source == SignalSourceKind.TOPIC:
        if feed is None:
            raise ValueError(
                f"camera {camera.id}: signal.source is 'topic' ({camera.signal.topic}) "
                "but no phase feed was supplied"
            )
        return FeedSignal(feed)
    if feed is not None:
        return FeedSignal(feed)
    assert camera.signal.region is not None  # validated by CameraConfig
    return PixelSignal(camera.signal.region)


# --- the timeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSpan:
    """One phase from ``start_ns`` (first frame it was seen; exact only if ``start_known``)."""

    phase: SignalPhase
    start_ns: int
    start_known: bool


@dataclass(frozen=True)
class SignalTimeline:
    """An immutable snapshot of recent phases, oldest first; what the rules read."""

    spans: tuple[PhaseSpan, ...] = ()

    def span_at(self, t_ns: int) -> PhaseSpan | None:
        found = None
        for span in self.spans:
            if span.start_ns <= t_ns:
                found = span
            else:
                break
        return found

    def phase_at(self, t_ns: int) -> SignalPhase:
        span = self.span_at(t_ns)
        return span.phase if span else SignalPhase.UNKNOWN

    def seconds_in_phase(self, t_ns: int) -> tuple[float, bool] | None:
        """Seconds since the phase at ``t_ns`` began, and whether that start is exact
        (False: a lower bound, the stream began during the phase)."""
        span = self.span_at(t_ns)
        if span is None:
            return None
        return (t_ns - span.start_ns) / 1e9, span.start_known

    def seconds_since_red(self, t_ns: int) -> tuple[float, bool] | None:
        if self.phase_at(t_ns) != SignalPhase.RED:
            return None
        return self.seconds_in_phase(t_ns)


class PhaseTracker:
    """Remembers when the current phase began, from one observation per frame.

    * a new phase is accepted after ``confirm_frames`` consecutive observations, and is then
      dated from the first of them (one misread frame cannot flip the light);
    * UNKNOWN observations keep the current phase for up to ``hold_unknown_s``, then the phase
      becomes UNKNOWN (a later phase then starts with ``start_known=False``);
    * at most ``max_spans`` spans are kept.
    """

    def __init__(self, *, confirm_frames: int = 2, hold_unknown_s: float = 1.0, max_spans: int = 64) -> None:
        if confirm_frames < 1:
            raise ValueError(f"expected confirm_frames >= 1, got {confirm_frames}")
        self.confirm_frames = confirm_frames
        self.hold_unknown_ns = int(hold_unknown_s * 1e9)
        self._spans: deque[PhaseSpan] = deque(maxlen=max_spans)
        self._candidate: SignalPhase | None = None
        self._candidate_start = 0
        self._candidate_count = 0
        self._last_known_ns: int | None = None
        self._last_t: int | None = None

    @property
    def current(self) -> SignalPhase:
        return self._spans[-1].phase if self._spans else SignalPhase.UNKNOWN

    def timeline(self) -> SignalTimeline:
        return SignalTimeline(tuple(self._spans))

    def update(self, phase: SignalPhase, t_ns: int) -> SignalPhase:
        """Feed one observation; returns the tracked phase at ``t_ns``."""
        if self._last_t is not None and t_ns < self._last_t:
            raise ValueError(f"expected observations in time order, got {t_ns} after {self._last_t}")
        self._last_t = t_ns
        if phase == SignalPhase.UNKNOWN:
            self._candidate = None
            self._candidate_count = 0
            if (
                self.current != SignalPhase.UNKNOWN
                and self._last_known_ns is not None
                and t_ns - self._last_known_ns > self.hold_unknown_ns
            ):
                self._spans.append(PhaseSpan(SignalPhase.UNKNOWN, t_ns, True))
            return self.current
        self._last_known_ns = t_ns
        if phase == self.current:
            self._candidate = None
            self._candidate_count = 0
            return self.current
        if phase != self._candidate:
            self._candidate, self._candidate_start, self._candidate_count = phase, t_ns, 0
        self._candidate_count += 1
        if self._candidate_count >= self.confirm_frames:
            # the start is exact only if we saw the previous (known) phase end
            known = bool(self._spans) and self._spans[-1].phase != SignalPhase.UNKNOWN
            self._spans.append(PhaseSpan(phase, self._candidate_start, known))
            self._candidate = None
            self._candidate_count = 0
        return self.current
