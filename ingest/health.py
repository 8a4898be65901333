"""Camera health: is this camera still showing what it was installed to show?

A camera that stops sending (silent), repeats one picture (frozen), is covered or blinded
(covered), or was knocked or turned away from its scene (moved) produces evidence that cannot be
trusted: its geometry (stop line, lanes, speed segment) no longer lies where the configuration
says. The operator sees it turn red on the camera wall, and intake holds its new cases for a
human review (the verdict reaches intake through the ``camera_status`` row, see
``cases.models.CameraStatus``).

Each frame is reduced to a small, blurred grey thumbnail; the checks compare thumbnails, so a
1280x720 frame costs well under a millisecond. The *reference view* is what the camera looked
like when it was set up: given (an installer's frame), or learnt as the per-pixel median of the
first ``learn_frames`` observations (which removes the passing traffic).

- covered: almost no texture left (grey standard deviation below ``covered_std``), or almost
  black, or less than ``covered_edge_ratio`` of the reference view's edges;
- moved: the frame is shifted against the reference view by more than ``moved_shift`` of its
  width (phase correlation: on the simulator's cameras traffic shifts it by at most 0.6 %, a
  knocked camera by 10-24 %), or hardly correlates with it at all (``moved_min_corr``);
- frozen: no pixel change at all for ``frozen_after_s`` seconds;
- silent: no frame for ``silent_after_s`` seconds (judged by whoever reads the status, because
  a silent camera sends nothing to judge).

A new verdict must hold for ``confirm`` observations in a row before it is reported (going bad
and coming back alike), so one truck filling the view does not flag a camera and one good frame
of a flapping camera does not clear it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

THUMB = (160, 90)  # width, height of the comparison thumbnail


class Verdict(StrEnum):
    HEALTHY = "healthy"
    SILENT = "silent"
    FROZEN = "frozen"
    COVERED = "covered"
    MOVED = "moved"
    DISABLED = "disabled"  # never judged from pixels: an admin switched the camera off (/admin/cameras)


VERDICT_VI: dict[Verdict, str] = {
    Verdict.HEALTHY: "Hoạt động tốt",
    Verdict.SILENT: "Mất tín hiệu",
    Verdict.FROZEN: "Hình ảnh đứng yên",
    Verdict.COVERED: "Bị che khuất",
    Verdict.MOVED: "Lệch góc quay",
    Verdict.DISABLED: "Quản trị đã tắt",
}


@dataclass(frozen=True)
class HealthSettings:
    silent_after_s: float = 10.0
    frozen_after_s: float = 10.0
    frozen_max_diff: float = 0.2  # mean absolute grey difference under which two frames are "the same"
    covered_std: float = 6.0
    covered_dark: float = 12.0
    covered_edge_ratio: float = 0.35
    moved_shift: float = 0.04  # fraction of the width
    moved_min_corr: float = 0.35  # simulator, healthy: >= 0.5 once the reference has settled (a minute)
    adapt: float = 0.05  # each healthy sample moves the reference this much towards it
    learn_frames: int = 5
    confirm: int = 3

    def __post_init__(self) -> None:
        if self.learn_frames < 1 or self.confirm < 1:
            raise ValueError(f"expected learn_frames and confirm >= 1, got {self.learn_frames}, {self.confirm}")


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    detail: str  # what was measured, for the operator


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A blurred grey 160x90 float32 thumbnail of a BGR (or grey) image."""
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected a grey or BGR image, got an array of shape {image.shape}")
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32)


def _edges(thumb: np.ndarray) -> float:
    gx = cv2.Sobel(thumb, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(thumb, cv2.CV_32F, 0, 1)
    return float(np.mean(np.hypot(gx, gy)))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a0, b0 = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a0 * a0).sum() * (b0 * b0).sum()))
    return float((a0 * b0).sum() / denom) if denom > 1e-6 else 0.0


_WINDOW = cv2.createHanningWindow(THUMB, cv2.CV_32F)


def _shift(a: np.ndarray, b: np.ndarray) -> float:
    # copies: OpenCV 5's phaseCorrelate applies the window to its inputs in place
    (dx, dy), _response = cv2.phaseCorrelate(a.copy(), b.copy(), _WINDOW)
    return float(np.hypot(dx, dy))


@dataclass
class CameraHealth:
    """The health of one camera, fed one frame at a time (``observe``)."""

    settings: HealthSettings = HealthSettings()
    reference: np.ndarray | None = None  # a thumbnail (see ``thumbnail``)
    _learning: list[np.ndarray] = field(default_factory=list)
    _last: np.ndarray | None = None
    _last_change_ns: int | None = None
    _last_frame_ns: int | None = None
    _recent: deque[Verdict] = field(default_factory=lambda: deque(maxlen=32))
    _reported: Judgement = Judgement(Verdict.HEALTHY, "starting")

    @classmethod
    def with_reference_image(cls, image: np.ndarray, settings: HealthSettings = HealthSettings()) -> CameraHealth:
        return cls(settings=settings, reference=thumbnail(image))

    def reference_image(self) -> np.ndarray | None:
        """The reference thumbnail as an 8-bit image (to save it for the next start)."""
        return None if self.reference is None else np.clip(self.reference, 0, 255).astype(np.uint8)

    def observe(self, image: np.ndarray, t_ns: int) -> Judgement:
        """Judge one frame captured at ``t_ns``; returns the confirmed verdict."""
        s = self.settings
        thumb = thumbnail(image)
        if self._last is None or float(np.mean(np.abs(thumb - self._last))) > s.frozen_max_diff:
            self._last_change_ns = t_ns
        self._last, self._last_frame_ns = thumb, t_ns
        if self.reference is None:
            self._learning.append(thumb)
            if len(self._learning) >= s.learn_frames:
                self.reference = np.median(np.stack(self._learning), axis=0).astype(np.float32)
                self._learning.clear()
        raw = self._judge(thumb, t_ns)
        if raw.verdict == Verdict.HEALTHY and self.reference is not None and not self._learning:
            # Follow slow change (light over the day, a vehicle that stood in the learnt view and
            # left); an abrupt change is judged before it can be absorbed, and never absorbed.
            self.reference = cv2.addWeighted(self.reference, 1 - s.adapt, thumb, s.adapt, 0)
        self._recent.append(raw.verdict)
        tail = list(self._recent)[-s.confirm:]
        if raw.verdict == self._reported.verdict or (
            len(tail) == s.confirm and all(v == raw.verdict for v in tail)
        ):
            self._reported = raw  # a change (either way) must repeat; the same verdict refreshes its detail
        return self._reported

    def current(self, now_ns: int) -> Judgement:
        """The confirmed verdict, or silent when no frame came for ``silent_after_s``."""
        if self._last_frame_ns is None or (now_ns - self._last_frame_ns) / 1e9 > self.settings.silent_after_s:
            return Judgement(Verdict.SILENT, "no frame received")
        return self._reported

    def _judge(self, thumb: np.ndarray, t_ns: int) -> Judgement:
        s = self.settings
        std, mean = float(thumb.std()), float(thumb.mean())
        if std < s.covered_std or mean < s.covered_dark:
            return Judgement(Verdict.COVERED, f"grey mean {mean:.0f}, std {std:.1f}: the view is blank")
        if self.reference is not None:
            ref_edges = _edges(self.reference)
            edges = _edges(thumb)
            if ref_edges > 0 and edges < s.covered_edge_ratio * ref_edges:
                return Judgement(
                    Verdict.COVERED, f"{edges / ref_edges:.0%} of the reference view's edges remain"
                )
            shift = _shift(self.reference, thumb) / THUMB[0]
            corr = _correlation(self.reference, thumb)
            if shift > s.moved_shift or corr < s.moved_min_corr:
                return Judgement(
                    Verdict.MOVED,
                    f"shifted {shift:.1%} of the width, correlation {corr:.2f} with the reference view",
                )
        assert self._last_change_ns is not None
        still_s = (t_ns - self._last_change_ns) / 1e9
        if still_s >= s.frozen_after_s:
            return Judgement(Verdict.FROZEN, f"no change for {still_s:.0f} s")
        return Judgement(Verdict.HEALTHY, "ok")
