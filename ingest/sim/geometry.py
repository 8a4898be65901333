"""Camera geometry for the simulator: a pinhole camera recovered from a ``CameraConfig``.

A camera YAML only carries a ground-plane homography (image pixels <-> road metres). To draw
objects with height the simulator needs the full camera: with square pixels and the principal
point at the image centre, the focal length, rotation and position follow from the homography
(Zhang's plane calibration with one view). World axes are the calibration's: x and y on the road,
z up (metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ingest.camera import CameraConfig


@dataclass(frozen=True)
class CameraPose:
    """Pinhole camera: ``pixel ~ K (R X + t)`` for world points ``X = (x, y, z)`` in metres."""

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    @property
    def centre(self) -> np.ndarray:
        """Camera position in world metres."""
        return -self.R.T @ self.t

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixels (N, 2) and depth (N,) along the optical axis."""
        cam = points @ self.R.T + self.t
        depth = cam[:, 2]
        safe = np.where(depth > 1e-3, depth, 1e-3)
        uv = (cam[:, :2] / safe[:, None]) * self.K[0, 0] + self.K[:2, 2]
        return uv, depth

    def ground_homography(self) -> np.ndarray:
        """3x3 world road plane (x, y) -> image pixels."""
        H = self.K @ np.column_stack([self.R[:, 0], self.R[:, 1], self.t])
        return H / H[2, 2]


def pose_from_config(camera: CameraConfig) -> CameraPose:
    """Recover the pinhole camera behind a config's calibration.

    Raises ``ValueError`` when the homography cannot come from a real camera looking at the road
    (e.g. an affine calibration with no perspective, or the road behind the camera).
    """
    width, height = camera.resolution
    cx, cy = width / 2.0, height / 2.0
    H = camera.inverse_homography.copy()
    T = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    G = T @ H
    h1, h2 = G[:, 0], G[:, 1]
    # two equations for 1/f^2 (orthogonality and equal norm of r1, r2), solved in least squares
    rows = [
        (h1[0] * h2[0] + h1[1] * h2[1], h1[2] * h2[2]),
        (h1[0] ** 2 + h1[1] ** 2 - h2[0] ** 2 - h2[1] ** 2, h1[2] ** 2 - h2[2] ** 2),
    ]
    a = np.array([r[0] for r in rows])
    b = -np.array([r[1] for r in rows])
    # a * w + b' = 0 with w = 1/f^2  ->  w = -(a.b_orig)/(a.a) where b_orig = -b
    denom = float(a @ a)
    w = float(a @ b) / denom if denom > 0 else -1.0
    if not w > 0:
        raise ValueError(
            f"camera {camera.id!r}: calibration has no usable perspective; expected a homography "
            f"from a pinhole camera, got focal estimate 1/f^2 = {w:.3g}"
        )
    f = 1.0 / math.sqrt(w)
    K = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
    M = np.linalg.inv(K) @ H
    scale = 1.0 / np.linalg.norm(M[:, 0])
    # points on the road must lie in front of the camera
    ref = np.array([*camera.calibration.points[0].world, 1.0])
    if (M @ ref)[2] * scale < 0:
        scale = -scale
    r1, r2, t = M[:, 0] * scale, M[:, 1] * scale, M[:, 2] * scale
    R = np.column_stack([r1, r2, np.cross(r1, r2)])
    u, _, vt = np.linalg.svd(R)
    R = u @ vt
    pose = CameraPose(K=K, R=R, t=t, width=width, height=height)
    if pose.centre[2] < 0:
        # world z points down for this calibration: flip it so heights are positive upwards
        flip = np.diag([1.0, 1.0, -1.0])
        pose = CameraPose(K=K, R=R @ flip, t=t, width=width, height=height)
    return pose


def pinhole_pose(
    *,
    width: int,
    height: int,
    focal_px: float,
    camera_x: float,
    camera_y: float,
    height_m: float,
    tilt_deg: float,
    yaw_deg: float = 0.0,
    roll_deg: float = 0.0,
) -> CameraPose:
    """A camera at (camera_x, camera_y, height_m) looking along +y, tilted down by ``tilt_deg``,
    turned by ``yaw_deg`` (positive to the left) and rolled by ``roll_deg``."""
    th, ps, ro = map(math.radians, (tilt_deg, yaw_deg, roll_deg))
    right = np.array([1.0, 0.0, 0.0])
    forward = np.array([0.0, math.cos(th), -math.sin(th)])
    down = np.cross(forward, right)
    Rz = np.array([[math.cos(ps), -math.sin(ps), 0], [math.sin(ps), math.cos(ps), 0], [0, 0, 1.0]])
    right, down, forward = Rz @ right, Rz @ down, Rz @ forward
    c, s = math.cos(ro), math.sin(ro)
    right, down = c * right + s * down, -s * right + c * down
    R = np.vstack([right, down, forward])
    C = np.array([camera_x, camera_y, height_m])
    K = np.array([[focal_px, 0, width / 2.0], [0, focal_px, height / 2.0], [0, 0, 1.0]])
    return CameraPose(K=K, R=R, t=-R @ C, width=width, height=height)
