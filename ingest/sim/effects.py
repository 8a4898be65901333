"""Camera realism applied to a rendered frame: rain, glare, night lights, blur, noise, a knocked
or covered camera. Layers that do not change are made once (``Effects.__init__``)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ingest.sim.draw import to_pixels
from ingest.sim.geometry import CameraPose
from ingest.sim.types import SimOptions


def _rain_layers(rng: np.random.Generator, w: int, h: int, n: int = 6) -> list[np.ndarray]:
    layers = []
    for _ in range(n):
        layer = np.zeros((h, w), np.uint8)
        for _ in range(900):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            length = int(rng.integers(12, 40))
            cv2.line(layer, (x, y), (x + length // 6, y + length), int(rng.integers(25, 70)), 1, cv2.LINE_AA)
        layers.append(cv2.merge([layer, layer, layer]))
    return layers


def _glare_layer(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    cx, cy = int(rng.uniform(0.55, 0.95) * w), int(rng.uniform(-0.1, 0.15) * h)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    core = np.exp(-((d / (0.18 * w)) ** 2)) * 230 + np.exp(-((d / (0.6 * w)) ** 2)) * 70
    layer = np.repeat(core[:, :, None], 3, axis=2)
    layer[:, :, 0] *= 0.85  # warm sunlight
    # flare ghosts along the line through the centre of the image
    for k in (0.4, 0.7, 1.2):
        gx, gy = int(cx + (w / 2 - cx) * 2 * k), int(cy + (h / 2 - cy) * 2 * k)
        cv2.circle(layer, (gx, gy), int(w * 0.02 * (1 + k)), (40, 60, 50), -1, cv2.LINE_AA)
    return np.clip(layer, 0, 255).astype(np.uint8)


KNOCK_DEG = (4.0, -3.0, 5.0)  # yaw, pitch, roll of a camera knocked out of position


def knock_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation in camera coordinates of a camera turned in place."""
    a, b, c = map(math.radians, (yaw_deg, pitch_deg, roll_deg))
    Ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    Rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    Rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return Rz @ Rx @ Ry


def knocked_pose(pose: CameraPose, degrees: tuple[float, float, float] = KNOCK_DEG) -> CameraPose:
    """The same camera turned in place: the scene is re-rendered from it (no empty borders)."""
    Rk = knock_rotation(*degrees)
    return CameraPose(K=pose.K, R=Rk @ pose.R, t=Rk @ pose.t, width=pose.width, height=pose.height)


def knock_homography(pose: CameraPose, degrees: tuple[float, float, float] = KNOCK_DEG) -> np.ndarray:
    """Image-to-image homography from the camera to its knocked self (exact: no translation)."""
    return pose.K @ knock_rotation(*degrees) @ np.linalg.inv(pose.K)


class Effects:
    """Per-camera effect state. All randomness comes from ``rng`` (deterministic)."""

    def __init__(self, options: SimOptions, pose: CameraPose, rng: np.random.Generator) -> None:
        self.options = options
        self.rng = rng
        w, h = pose.width, pose.height
        self.size = (w, h)
        self.rain = _rain_layers(rng, w, h) if options.rain else []
        self.glare = _glare_layer(rng, w, h) if options.glare else None
        self.noise: list[tuple[np.ndarray, np.ndarray]] = []
        if options.noise > 0:
            for _ in range(4):
                n = rng.normal(0, options.noise * (1.8 if options.night else 1.0), (h, w, 1)).astype(
                    np.float32
                )
                n = np.repeat(n, 3, axis=2) + rng.normal(0, options.noise * 0.4, (h, w, 3)).astype(np.float32)
                self.noise.append((np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)))
        self.vignette = None
        if options.vignette:
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
            self.vignette = cv2.merge([np.clip(255.0 * (1.0 - 0.18 * r2), 0, 255)] * 3).astype(np.uint8)

    def apply(self, frame: np.ndarray, *, covered: bool, overlay: str = "") -> np.ndarray:
        opts = self.options
        if opts.soften > 0:
            k = 2 * max(1, int(round(opts.soften * 2.5))) + 1
            frame = cv2.GaussianBlur(frame, (k, k), opts.soften)
        if self.rain:
            frame = cv2.addWeighted(frame, 0.88, np.full_like(frame, 120), 0.12, 0)
            frame = cv2.add(frame, self.rain[int(self.rng.integers(len(self.rain)))])
        if self.glare is not None:
            frame = cv2.add(frame, self.glare)
        if opts.motion_blur:
            frame = cv2.blur(frame, (3, 5))
        if covered:
            dark = cv2.resize(
                cv2.resize(frame, (16, 9), interpolation=cv2.INTER_AREA),
                self.size,
                interpolation=cv2.INTER_LINEAR,
            )
            frame = cv2.addWeighted(dark, 0.08, np.full_like(frame, (12, 14, 18)), 0.92, 0)
        if self.vignette is not None:
            frame = cv2.multiply(frame, self.vignette, scale=1.0 / 255.0)
        if self.noise:
            pos, neg = self.noise[int(self.rng.integers(len(self.noise)))]
            frame = cv2.subtract(cv2.add(frame, pos), neg)
        if overlay:
            (tw, th), _ = cv2.getTextSize(overlay, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
            frame[8 : 16 + th, 6 : 18 + tw] //= 3
            cv2.putText(
                frame, overlay, (12, 10 + th), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (240, 240, 240), 1, cv2.LINE_AA
            )
        return frame


def night_lights(
    frame: np.ndarray, pose: CameraPose, lights: list[tuple[np.ndarray, tuple[int, int, int], float]]
) -> np.ndarray:
    """Additive glow at quarter resolution. Each light is (world point (3,), BGR, radius m): a lamp;
    or (world polygon (N, 3), BGR, 0): light thrown on the road, e.g. a headlight beam."""
    if not lights:
        return frame
    h, w = frame.shape[:2]
    small = np.zeros((h // 4, w // 4, 3), np.float32)
    f = pose.K[0, 0]
    points = [(p, c, r) for p, c, r in lights if p.ndim == 1]
    for where, colour, _ in lights:
        if where.ndim == 2:
            pix = to_pixels(pose, where)
            if pix is not None:
                cv2.fillPoly(small, [np.round(pix / 4 * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)
    if points:
        uv, depth = pose.project(np.array([p for p, _, _ in points]))
        for (_, colour, radius), (u, v), d in zip(points, uv, depth, strict=True):
            if d < 0.5:
                continue
            r = radius * f / d / 4
            if r < 0.3 or not (-50 < u / 4 < w / 4 + 50 and -50 < v / 4 < h / 4 + 50):
                continue
            cv2.circle(small, (int(u / 4), int(v / 4)), max(1, int(r)), colour, -1, cv2.LINE_AA)
    small = cv2.GaussianBlur(small, (0, 0), 2.5)
    glow = cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.add(frame, glow)


def wet_reflections(frame: np.ndarray) -> np.ndarray:
    """A wet road mirrors bright things (lamps, white paint, light cars) as vertical streaks below them."""
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    bright = cv2.subtract(small, np.full_like(small, 120))
    streak = cv2.blur(bright, (1, 9))
    shifted = np.zeros_like(streak)
    shifted[3:] = streak[:-3]
    glow = cv2.resize(shifted, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.addWeighted(frame, 1.0, glow, 0.45, 0)
