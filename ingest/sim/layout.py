"""The road as the simulator sees it: world geometry (metres) derived from a ``CameraConfig``.

Convention for simulated scenes: the road runs along world +y (away from the camera), x grows to
the right, lanes are strips ``x0 <= x <= x1``. Each lane's legal direction is its ``flow``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.camera import CameraConfig, VehicleClass
from ingest.sim.geometry import CameraPose, pose_from_config


@dataclass(frozen=True)
class LaneGeom:
    id: str
    x0: float
    x1: float
    direction: int  # +1: legal flow is +y, -1: -y
    allowed: frozenset[VehicleClass]
    y0: float  # where the camera configuration's lane polygon begins and ends
    y1: float

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass(frozen=True)
class ZoneGeom:
    id: str
    polygon: np.ndarray  # (N, 2) world metres
    max_dwell_s: float
    x0: float
    x1: float
    y0: float
    y1: float


@dataclass(frozen=True)
class Layout:
    camera: CameraConfig
    pose: CameraPose
    lanes: tuple[LaneGeom, ...]
    stop_y: float | None
    zones: tuple[ZoneGeom, ...]
    speed_entry_y: float | None
    speed_exit_y: float | None
    speed_limits: dict[VehicleClass, float]
    y_near: float  # where vehicles appear / leave near the camera (out of view, behind it)
    y_visible: float  # road distance seen at the bottom row of the image
    y_far: float  # where vehicles appear / leave far away
    x_min: float  # road edges
    x_max: float

    def lane_at(self, x: float) -> LaneGeom | None:
        for lane in self.lanes:
            if lane.x0 <= x < lane.x1:
                return lane
        return None


def _line_y(camera: CameraConfig, line: tuple[tuple[float, float], tuple[float, float]]) -> float:
    world = camera.to_world(list(line))
    return float(world[:, 1].mean())


def build_layout(camera: CameraConfig) -> Layout:
    """World geometry of a camera's scene. Raises ``ValueError`` when the config has no lanes."""
    if not camera.lanes:
        raise ValueError(f"camera {camera.id!r}: the simulator needs lanes, got none")
    pose = pose_from_config(camera)
    lanes = []
    for lane in camera.lanes:
        world = camera.to_world(lane.polygon)
        flow = camera.to_world(list(lane.flow))
        lanes.append(
            LaneGeom(
                id=lane.id,
                x0=float(world[:, 0].min()),
                x1=float(world[:, 0].max()),
                direction=1 if flow[1, 1] >= flow[0, 1] else -1,
                allowed=frozenset(lane.allowed),
                y0=float(world[:, 1].min()),
                y1=float(world[:, 1].max()),
            )
        )
    lanes.sort(key=lambda g: g.x0)
    zones = []
    for zone in camera.no_stopping:
        world = camera.to_world(zone.polygon)
        zones.append(
            ZoneGeom(
                id=zone.id,
                polygon=world,
                max_dwell_s=zone.max_dwell_s,
                x0=float(world[:, 0].min()),
                x1=float(world[:, 0].max()),
                y0=float(world[:, 1].min()),
                y1=float(world[:, 1].max()),
            )
        )
    centre = pose.centre
    # vehicles enter well behind the camera so that queues can grow out of view
    y_near = float(centre[1]) - 35.0
    w, h = camera.resolution
    y_visible = float(camera.to_world([(w / 2, h - 1)])[0, 1])
    return Layout(
        camera=camera,
        pose=pose,
        lanes=tuple(lanes),
        stop_y=_line_y(camera, camera.stop_line) if camera.stop_line else None,
        zones=tuple(zones),
        speed_entry_y=_line_y(camera, camera.speed.entry) if camera.speed else None,
        speed_exit_y=_line_y(camera, camera.speed.exit) if camera.speed else None,
        speed_limits=dict(camera.speed.limits_kmh) if camera.speed else {},
        y_near=y_near,
        y_visible=y_visible,
        y_far=float(centre[1]) + 110.0,
        x_min=min(g.x0 for g in lanes),
        x_max=max(g.x1 for g in lanes),
    )
