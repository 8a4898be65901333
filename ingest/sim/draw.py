"""Drawing world geometry into an image: polygons clipped at the camera's near plane."""

from __future__ import annotations

import cv2
import numpy as np

from ingest.sim.geometry import CameraPose

NEAR = 0.3
SHIFT = 4  # fixed-point sub-pixel bits for cv2 polygon drawing
_SCALE = float(1 << SHIFT)


def clip_near(cam: np.ndarray, near: float = NEAR) -> np.ndarray:
    """Sutherland-Hodgman clip of a camera-space polygon (N, 3) against depth >= near."""
    out = []
    n = len(cam)
    for i in range(n):
        a, b = cam[i], cam[(i + 1) % n]
        ina, inb = a[2] >= near, b[2] >= near
        if ina:
            out.append(a)
        if ina != inb:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out) if out else np.zeros((0, 3))


def to_pixels(pose: CameraPose, world: np.ndarray) -> np.ndarray | None:
    """World polygon (N, 3) -> clipped pixel polygon (M, 2) float, or None when behind the camera."""
    cam = world @ pose.R.T + pose.t
    if (cam[:, 2] < NEAR).any():
        cam = clip_near(cam)
        if len(cam) < 3:
            return None
    return cam[:, :2] / cam[:, 2:3] * pose.K[0, 0] + pose.K[:2, 2]


def fill(
    img: np.ndarray, pix: np.ndarray, colour: tuple[int, int, int] | np.ndarray, aa: bool = True
) -> None:
    pts = np.round(pix * _SCALE).astype(np.int32)
    pts = np.clip(pts, -(1 << 24), 1 << 24)
    col = tuple(int(c) for c in colour)
    cv2.fillPoly(img, [pts], col, cv2.LINE_AA if aa else cv2.LINE_8, SHIFT)


def poly(
    img: np.ndarray,
    pose: CameraPose,
    world: np.ndarray,
    colour: tuple[int, int, int] | np.ndarray,
    aa: bool = True,
) -> np.ndarray | None:
    """Fill a world polygon (N, 3) or a road-plane polygon (N, 2); returns its pixel polygon."""
    world = np.asarray(world, dtype=np.float64)
    if world.shape[1] == 2:
        world = np.column_stack([world, np.zeros(len(world))])
    pix = to_pixels(pose, world)
    if pix is not None:
        fill(img, pix, colour, aa)
    return pix


def rect_xy(x0: float, x1: float, y0: float, y1: float, z: float = 0.0) -> np.ndarray:
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], dtype=np.float64)


def wall_x(x: float, y0: float, y1: float, z0: float, z1: float) -> np.ndarray:
    """Vertical rectangle in the plane x = const."""
    return np.array([[x, y0, z0], [x, y1, z0], [x, y1, z1], [x, y0, z1]], dtype=np.float64)


def wall_y(y: float, x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    """Vertical rectangle in the plane y = const."""
    return np.array([[x0, y, z0], [x1, y, z0], [x1, y, z1], [x0, y, z1]], dtype=np.float64)


def shade(colour: tuple[int, int, int] | np.ndarray, factor: float) -> np.ndarray:
    return np.clip(np.asarray(colour, dtype=np.float64) * factor, 0, 255)
