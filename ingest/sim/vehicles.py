"""Vehicle models (boxes in the vehicle's own frame) and drawing them with their plates.

Local frame: ``u`` across the vehicle (+ to its right), ``v`` along it (0 = rear, ``length`` =
front), ``z`` up; metres. A model is drawn at a world position (centre x, centre y) and a heading
(+1 drives towards +y, -1 towards -y).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ingest.camera import VehicleClass
from ingest.sim.draw import fill, to_pixels
from ingest.sim.geometry import CameraPose
from ingest.sim.plates import SimPlate, render_plate

# which faces of a box: -u, +u, -v (rear), +v (front), top
# corner indices of each face, counter-clockwise seen from outside (used for back-face culling)
FACES = {
    "left": [3, 0, 4, 7],
    "right": [1, 2, 6, 5],
    "rear": [0, 1, 5, 4],
    "front": [2, 3, 7, 6],
    "top": [4, 5, 6, 7],
}
SHADE = {"left": 0.72, "right": 0.62, "rear": 0.85, "front": 0.9, "top": 1.06}
GLASS = (92, 80, 70)
TYRE = (28, 28, 30)
TAIL = (40, 30, 190)
HEAD = (215, 225, 230)
BLACK = (30, 30, 32)
# Motorbike plates are drawn this much larger than their 190x140 mm so that they are readable at
# 1280x720 (real enforcement cameras use higher resolutions or a zoomed plate camera).
MOTORBIKE_PLATE_SCALE = 1.45

CAR_COLOURS = [
    ((235, 235, 235), 0.3, "Trắng"),
    ((185, 185, 190), 0.18, "Bạc"),
    ((35, 35, 38), 0.16, "Đen"),
    ((110, 110, 115), 0.1, "Xám"),
    ((40, 40, 170), 0.08, "Đỏ"),
    ((120, 60, 25), 0.07, "Xanh"),
    ((60, 45, 30), 0.04, "Xanh đen"),
    ((70, 120, 170), 0.04, "Nâu"),
    ((50, 90, 60), 0.03, "Xanh rêu"),
]
BIKE_COLOURS = [
    ((25, 25, 28), 0.3, "Đen"),
    ((40, 40, 180), 0.15, "Đỏ"),
    ((230, 230, 230), 0.15, "Trắng"),
    ((140, 70, 20), 0.12, "Xanh"),
    ((150, 150, 155), 0.13, "Xám"),
    ((30, 150, 220), 0.05, "Vàng"),
    ((60, 110, 40), 0.05, "Xanh lá"),
    ((80, 40, 120), 0.05, "Đỏ đô"),
]
SHIRTS = [
    (240, 240, 240),
    (40, 40, 40),
    (140, 90, 40),
    (60, 60, 160),
    (70, 130, 200),
    (180, 170, 160),
    (90, 150, 80),
    (200, 120, 140),
    (40, 160, 220),
    (110, 80, 60),
]
HELMETS = [
    (240, 240, 240),
    (30, 30, 30),
    (40, 40, 200),
    (160, 100, 30),
    (40, 180, 240),
    (200, 60, 160),
    (60, 160, 60),
    (120, 120, 125),
]
RAINCOATS = [(60, 60, 200), (200, 120, 40), (40, 200, 230), (160, 60, 150), (70, 160, 70), (200, 200, 90)]
BUS_COLOURS = [
    ((70, 150, 40), 0.6, "Xanh lá"),
    ((40, 200, 230), 0.15, "Vàng"),
    ((230, 230, 230), 0.15, "Trắng"),
    ((40, 40, 170), 0.1, "Đỏ"),
]
CARGO_COLOURS = [
    ((190, 195, 200), 0.35, "Bạc"),
    ((60, 110, 50), 0.2, "Xanh rêu"),
    ((150, 80, 30), 0.2, "Xanh"),
    ((40, 130, 200), 0.15, "Cam"),
    ((230, 230, 230), 0.1, "Trắng"),
]


@dataclass(frozen=True)
class Part:
    box: tuple[float, float, float, float, float, float]  # u0, u1, v0, v1, z0, z1
    colour: tuple[int, int, int]
    faces: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # per-face colour override
    emissive: str = ""  # "tail" | "head": glows at night
    taper: tuple[float, float, float] = (0.0, 0.0, 0.0)  # top face inset: across, at rear, at front


@dataclass(frozen=True)
class PlateMount:
    u: float
    v: float  # where the plate sits along the vehicle (rear: about 0, front: about length)
    z: float  # centre height
    facing: int  # -1 rear (faces -v), +1 front
    tilt_deg: float = 0.0  # leaning back (top edge further out)


@dataclass(frozen=True)
class VehicleModel:
    cls: VehicleClass
    length: float
    width: float
    height: float
    parts: tuple[Part, ...]
    plates: tuple[PlateMount, ...]
    corners: np.ndarray  # (n_parts * 8, 3) local corners
    colour_name: str = ""  # Vietnamese colour name, as a registration paper would say

    @property
    def hull_local(self) -> np.ndarray:
        return self.corners


def _pick_colour(
    rng: np.random.Generator, table: list[tuple[tuple[int, int, int], float, str]]
) -> tuple[int, int, int]:
    return _pick_named(rng, table)[0]


def _pick_named(
    rng: np.random.Generator, table: list[tuple[tuple[int, int, int], float, str]]
) -> tuple[tuple[int, int, int], str]:
    weights = np.array([w for _, w, _ in table])
    i = int(rng.choice(len(table), p=weights / weights.sum()))
    base = np.array(table[i][0], dtype=float) * rng.uniform(0.9, 1.08)
    return tuple(int(c) for c in np.clip(base, 0, 255)), table[i][2]  # type: ignore[return-value]


def _box_corners(part: Part) -> np.ndarray:
    u0, u1, v0, v1, z0, z1 = part.box
    tu, tr, tf = part.taper
    return np.array(
        [
            [u0, v0, z0],
            [u1, v0, z0],
            [u1, v1, z0],
            [u0, v1, z0],
            [u0 + tu, v0 + tr, z1],
            [u1 - tu, v0 + tr, z1],
            [u1 - tu, v1 - tf, z1],
            [u0 + tu, v1 - tf, z1],
        ],
        dtype=np.float64,
    )


def _model(
    cls: VehicleClass,
    length: float,
    width: float,
    height: float,
    parts: list[Part],
    plates: list[PlateMount],
    colour_name: str,
) -> VehicleModel:
    corners = np.vstack([_box_corners(p) for p in parts])
    return VehicleModel(cls, length, width, height, tuple(parts), tuple(plates), corners, colour_name)


def _wheels(width: float, positions: list[tuple[float, float]], radius: float) -> list[Part]:
    parts = []
    for v0, v1 in positions:
        for side in (-1, 1):
            u_out = side * (width / 2 + 0.01)
            u_in = side * (width / 2 - 0.24)
            parts.append(Part((min(u_out, u_in), max(u_out, u_in), v0, v1, 0.0, 2 * radius), TYRE))
    return parts


def make_model(rng: np.random.Generator, cls: VehicleClass, *, rain: bool = False) -> VehicleModel:
    """A random vehicle of class ``cls`` (dimensions, colours, rider)."""
    if cls == VehicleClass.MOTORBIKE:
        return _motorbike(rng, rain)
    if cls == VehicleClass.CAR:
        return _car(rng)
    if cls == VehicleClass.BUS:
        return _bus(rng)
    if cls == VehicleClass.TRUCK:
        return _truck(rng)
    raise ValueError(f"expected a vehicle class, got {cls!r}")


def _motorbike(rng: np.random.Generator, rain: bool) -> VehicleModel:
    L = float(rng.uniform(1.8, 1.95))
    body, name = _pick_named(rng, BIKE_COLOURS)
    shirt = RAINCOATS[int(rng.integers(len(RAINCOATS)))] if rain else SHIRTS[int(rng.integers(len(SHIRTS)))]
    helmet = HELMETS[int(rng.integers(len(HELMETS)))]
    trousers = (50, 45, 40) if rng.random() < 0.6 else (120, 100, 70)
    wr = 0.29
    coat = 0.05 if rain else 0.0
    parts = [
        Part((-0.05, 0.05, 0.0, 2 * wr, 0.0, 2 * wr), TYRE),
        Part((-0.05, 0.05, L - 2 * wr, L, 0.0, 2 * wr), TYRE),
        Part((-0.16, 0.16, 0.12, L - 0.35, 0.32, 0.78), body),
        Part((-0.14, 0.14, 0.35, 1.0, 0.78, 0.86), BLACK),
        Part((-0.24 - coat, 0.24 + coat, 0.72, 1.18, 0.42, 0.86), trousers if not rain else shirt),
        Part((-0.21 - coat, 0.21 + coat, 0.55 - coat, 0.9, 0.86, 1.48), shirt, taper=(0.05, 0.06, 0.02)),
        Part((-0.27, -0.17, 0.8, 1.32, 1.02, 1.32), shirt, taper=(0.0, 0.0, 0.0)),
        Part((0.17, 0.27, 0.8, 1.32, 1.02, 1.32), shirt),
        Part((-0.13, 0.13, 0.57, 0.86, 1.46, 1.76), helmet, taper=(0.05, 0.06, 0.05)),
        Part((-0.34, 0.34, 1.3, 1.36, 0.98, 1.04), BLACK),
        Part((-0.1, 0.1, L - 0.45, L - 0.3, 0.5, 1.05), body),
        Part((-0.07, 0.07, 0.04, 0.12, 0.72, 0.8), TAIL, emissive="tail"),
    ]
    if rng.random() < 0.3:  # a passenger behind the rider
        pshirt = (
            SHIRTS[int(rng.integers(len(SHIRTS)))]
            if not rain
            else RAINCOATS[int(rng.integers(len(RAINCOATS)))]
        )
        parts.insert(5, Part((-0.2, 0.2, 0.2, 0.5, 0.86, 1.42), pshirt))
        parts.insert(
            6,
            Part(
                (-0.12, 0.12, 0.23, 0.49, 1.4, 1.68),
                HELMETS[int(rng.integers(len(HELMETS)))],
                taper=(0.045, 0.055, 0.045),
            ),
        )
    parts.append(Part((-0.02, 0.02, L - 0.3, L - 0.22, 1.05, 1.1), HEAD, emissive="head"))
    plates = [PlateMount(u=0.0, v=0.02, z=0.55, facing=-1, tilt_deg=18.0)]
    return _model(VehicleClass.MOTORBIKE, L, 0.68, 1.76, parts, plates, name)


def _car(rng: np.random.Generator) -> VehicleModel:
    suv = rng.random() < 0.3
    L = float(rng.uniform(4.3, 4.9))
    W = float(rng.uniform(1.72, 1.86))
    H = float(rng.uniform(1.62, 1.78) if suv else rng.uniform(1.42, 1.52))
    body, name = _pick_named(rng, CAR_COLOURS)
    belt = 0.95 if suv else 0.82
    cab_v0, cab_v1 = (0.45, L - 1.5) if suv else (1.0, L - 1.45)
    parts = _wheels(W, [(0.55, 1.25), (L - 1.35, L - 0.65)], 0.32)
    parts += [
        Part((-W / 2, W / 2, 0.0, L, 0.22, belt), body),
        Part(
            (-W / 2 + 0.06, W / 2 - 0.06, cab_v0, cab_v1, belt, H),
            GLASS,
            faces={"top": body},
            taper=(0.12, 0.35 if suv else 0.55, 0.75),
        ),
        Part((-W / 2 + 0.1, -W / 2 + 0.42, -0.02, 0.0, belt - 0.22, belt - 0.07), TAIL, emissive="tail"),
        Part((W / 2 - 0.42, W / 2 - 0.1, -0.02, 0.0, belt - 0.22, belt - 0.07), TAIL, emissive="tail"),
        Part((-W / 2 + 0.1, -W / 2 + 0.42, L, L + 0.02, belt - 0.2, belt - 0.08), HEAD, emissive="head"),
        Part((W / 2 - 0.42, W / 2 - 0.1, L, L + 0.02, belt - 0.2, belt - 0.08), HEAD, emissive="head"),
        Part((-W / 2, W / 2, -0.05, 0.0, 0.22, 0.36), BLACK),
    ]
    plates = [PlateMount(0.0, -0.055, 0.47, -1), PlateMount(0.0, L + 0.03, 0.4, 1)]
    return _model(VehicleClass.CAR, L, W, H, parts, plates, name)


def _bus(rng: np.random.Generator) -> VehicleModel:
    L = float(rng.uniform(9.5, 12.0))
    W, H = 2.5, float(rng.uniform(3.0, 3.2))
    body, name = _pick_named(rng, BUS_COLOURS)
    parts = _wheels(W, [(1.6, 2.6), (L - 3.0, L - 2.0)], 0.48)
    parts += [
        Part((-W / 2, W / 2, 0.0, L, 0.35, H), body),
        Part((-W / 2 - 0.02, W / 2 + 0.02, 0.6, L - 0.4, 1.45, 2.55), GLASS, faces={"top": body}),
        Part((-W / 2 + 0.2, W / 2 - 0.2, -0.02, 0.0, 1.6, 2.7), GLASS),
        Part((-0.7, 0.7, L / 2 - 1.5, L / 2 + 1.5, H, H + 0.25), (200, 200, 200)),
        Part((-W / 2 + 0.15, W / 2 - 0.15, L, L + 0.02, 1.2, 2.8), GLASS),
        Part((-W / 2 + 0.1, -W / 2 + 0.35, -0.03, 0.0, 0.6, 1.1), TAIL, emissive="tail"),
        Part((W / 2 - 0.35, W / 2 - 0.1, -0.03, 0.0, 0.6, 1.1), TAIL, emissive="tail"),
        Part((-W / 2 + 0.15, -W / 2 + 0.5, L, L + 0.03, 0.6, 0.8), HEAD, emissive="head"),
        Part((W / 2 - 0.5, W / 2 - 0.15, L, L + 0.03, 0.6, 0.8), HEAD, emissive="head"),
    ]
    plates = [PlateMount(0.0, -0.035, 0.75, -1), PlateMount(0.0, L + 0.04, 0.5, 1)]
    return _model(VehicleClass.BUS, L, W, H, parts, plates, name)


def _truck(rng: np.random.Generator) -> VehicleModel:
    L = float(rng.uniform(5.8, 8.0))
    W = float(rng.uniform(2.1, 2.45))
    H = float(rng.uniform(2.7, 3.3))
    cab, name = _pick_named(rng, CAR_COLOURS[:6])
    cargo = _pick_colour(rng, CARGO_COLOURS)
    parts = _wheels(W, [(0.8, 1.75), (L - 1.9, L - 0.95)], 0.45)
    parts += [
        Part((-W / 2, W / 2, 0.0, L - 1.95, 0.9, H), cargo),
        Part((-W / 2 + 0.05, W / 2 - 0.05, 0.3, L, 0.55, 0.9), BLACK),
        Part((-W / 2, W / 2, L - 1.85, L, 0.6, H - 0.35), cab),
        Part((-W / 2 + 0.1, W / 2 - 0.1, L - 0.2, L + 0.01, 1.55, H - 0.5), GLASS),
        Part((-W / 2 + 0.05, -W / 2 + 0.3, -0.03, 0.0, 0.55, 0.8), TAIL, emissive="tail"),
        Part((W / 2 - 0.3, W / 2 - 0.05, -0.03, 0.0, 0.55, 0.8), TAIL, emissive="tail"),
        Part((-W / 2 + 0.12, -W / 2 + 0.45, L, L + 0.03, 0.75, 0.95), HEAD, emissive="head"),
        Part((W / 2 - 0.45, W / 2 - 0.12, L, L + 0.03, 0.75, 0.95), HEAD, emissive="head"),
        Part((-0.5, 0.5, -0.05, 0.0, 0.5, 0.85), BLACK),
    ]
    plates = [PlateMount(0.0, -0.06, 0.68, -1), PlateMount(0.0, L + 0.04, 0.6, 1)]
    return _model(VehicleClass.TRUCK, L, W, H, parts, plates, name)


@dataclass
class PlateSprite:
    """A vehicle's plate image at a few resolutions (largest first) and its physical size."""

    plate: SimPlate
    levels: list[np.ndarray]
    width_m: float
    height_m: float

    @classmethod
    def make(cls, plate: SimPlate, vehicle: VehicleClass) -> PlateSprite:
        w_mm, h_mm = plate.size_mm
        scale = MOTORBIKE_PLATE_SCALE if vehicle == VehicleClass.MOTORBIKE else 1.0
        base = render_plate(plate, 96)
        levels = [base]
        while levels[-1].shape[0] > 16:
            prev = levels[-1]
            levels.append(
                cv2.resize(
                    prev,
                    (max(4, prev.shape[1] // 2), max(4, prev.shape[0] // 2)),
                    interpolation=cv2.INTER_AREA,
                )
            )
        return cls(plate, levels, w_mm / 1000 * scale, h_mm / 1000 * scale)

    def for_height(self, px: float) -> np.ndarray:
        for level in reversed(self.levels):
            if level.shape[0] >= 1.5 * px:
                return level
        return self.levels[0]


@dataclass(frozen=True)
class Drawn:
    """What drawing one vehicle produced, in pixels."""

    hull: np.ndarray | None  # convex hull (K, 2) float
    bbox: tuple[float, float, float, float] | None  # unclipped
    plate_quad: np.ndarray | None  # (4, 2) float, None when the plate faces away or is off-screen


def local_to_world(local: np.ndarray, x: float, y: float, heading: int, length: float) -> np.ndarray:
    """Vehicle-local points -> world; (x, y) is the centre of the vehicle's footprint."""
    out = np.empty_like(local)
    out[:, 0] = x + heading * local[:, 0]
    out[:, 1] = y + heading * (local[:, 1] - length / 2)
    out[:, 2] = local[:, 2]
    return out


def plate_corners(model: VehicleModel, mount: PlateMount, sprite: PlateSprite) -> np.ndarray:
    """Local corners of a plate: top-left, top-right, bottom-right, bottom-left as seen from outside."""
    hw, hh = sprite.width_m / 2, sprite.height_m / 2
    t = np.radians(mount.tilt_deg)
    dv, dz = hh * np.sin(t), hh * np.cos(t)
    out = mount.facing  # -1 rear: "outside" is -v
    # seen from outside the rear, the plate's left is the vehicle's +u side
    left = -hw if mount.facing < 0 else hw
    v_top, v_bot = mount.v + out * dv, mount.v - out * dv
    return np.array(
        [
            [mount.u + left, v_top, mount.z + dz],
            [mount.u - left, v_top, mount.z + dz],
            [mount.u - left, v_bot, mount.z - dz],
            [mount.u + left, v_bot, mount.z - dz],
        ],
        dtype=np.float64,
    )


_FACE_NAMES = list(FACES)
_FACE_IDX = np.array([FACES[n] for n in _FACE_NAMES], dtype=np.int64)  # (5, 4)
_GLOW = {"tail": (60, 60, 255), "head": (250, 250, 255)}


@dataclass(frozen=True)
class _Faces:
    """Per-model face tables, built once per model: corner indices, base colours, shading."""

    idx: np.ndarray  # (P, 5, 4) corner indices
    colour: np.ndarray  # (P, 5, 3) shaded base colour
    glow: np.ndarray  # (P, 5, 3) colour when lamps are lit
    emissive: np.ndarray  # (P,) bool
    centres: np.ndarray  # (P, 3)


_FACE_CACHE: dict[int, tuple[VehicleModel, _Faces]] = {}  # holding the model keeps its id unique


def _faces(model: VehicleModel) -> _Faces:
    key = id(model)
    cached = _FACE_CACHE.get(key)
    if cached is not None and cached[0] is model:
        return cached[1]
    P = len(model.parts)
    idx = (np.arange(P)[:, None, None] * 8 + _FACE_IDX[None]).astype(np.int64)
    colour = np.zeros((P, 5, 3))
    glow = np.zeros((P, 5, 3))
    for i, part in enumerate(model.parts):
        for j, name in enumerate(_FACE_NAMES):
            colour[i, j] = np.array(part.faces.get(name, part.colour), dtype=np.float64) * SHADE[name]
            glow[i, j] = _GLOW.get(part.emissive, (0, 0, 0))
    emissive = np.array([bool(p.emissive) for p in model.parts])
    centres = model.corners.reshape(P, 8, 3).mean(axis=1)
    faces = _Faces(idx, colour, glow, emissive, centres)
    if len(_FACE_CACHE) > 4096:
        _FACE_CACHE.clear()
    _FACE_CACHE[key] = (model, faces)
    return faces


def draw_vehicle(
    img: np.ndarray,
    pose: CameraPose,
    model: VehicleModel,
    sprite: PlateSprite | None,
    *,
    x: float,
    y: float,
    heading: int,
    light: float = 1.0,
    lights_on: bool = False,
) -> Drawn:
    """Draw one vehicle (parts in painter's order, back faces culled) and its visible plate."""
    tables = _faces(model)
    world = local_to_world(model.corners, x, y, heading, model.length)
    cam = world @ pose.R.T + pose.t
    front_ok = cam[:, 2] >= 0.3
    if not front_ok.any():
        return Drawn(None, None, None)
    uv = cam[:, :2] / np.maximum(cam[:, 2:3], 0.3) * pose.K[0, 0] + pose.K[:2, 2]
    h_img, w_img = img.shape[:2]
    valid = uv[front_ok]
    lo, hi = valid.min(axis=0), valid.max(axis=0)
    if hi[0] < 0 or hi[1] < 0 or lo[0] > w_img or lo[1] > h_img:
        return Drawn(None, None, None)
    cam_w = pose.centre
    cu = heading * (cam_w[0] - x)
    cv_ = heading * (cam_w[1] - y) + model.length / 2
    d2 = ((tables.centres - np.array([cu, cv_, cam_w[2]])) ** 2).sum(axis=1)
    is_tyre = np.array([p.colour == TYRE for p in model.parts])
    order = np.lexsort((-d2, ~is_tyre))  # tyres first, then far to near
    quads = uv[tables.idx]  # (P, 5, 4, 2)
    a = quads[..., 0, :]
    b = quads[..., 1, :]
    c = quads[..., 2, :]
    d = quads[..., 3, :]
    area = (
        (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
        - (c[..., 0] - a[..., 0]) * (b[..., 1] - a[..., 1])
        + (c[..., 0] - a[..., 0]) * (d[..., 1] - a[..., 1])
        - (d[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
    )
    visible = area < 0
    colours = np.clip(tables.colour * light, 0, 255)
    if lights_on:
        colours[tables.emissive] = tables.glow[tables.emissive]
    pts = np.round(np.clip(quads, -1e6, 1e6) * 16).astype(np.int32)
    all_front = front_ok[tables.idx].all(axis=-1)  # (P, 5)
    col_list = colours.astype(np.int32).tolist()
    for i in order:
        for j in range(5):
            if not visible[i, j]:
                continue
            if all_front[i, j]:
                cv2.fillPoly(img, [pts[i, j]], col_list[i][j], cv2.LINE_AA, 4)
            else:
                pix = to_pixels(pose, world[tables.idx[i, j]])
                if pix is not None:
                    fill(img, pix, col_list[i][j])
    hull = (
        cv2.convexHull(valid.astype(np.float32)).reshape(-1, 2).astype(np.float64)
        if len(valid) >= 3
        else None
    )
    bbox = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    quad = None
    if sprite is not None:
        for mount in model.plates:
            # the plate faces the camera only from its own side
            if (mount.facing < 0 and cv_ >= mount.v) or (mount.facing > 0 and cv_ <= mount.v):
                continue
            corners = local_to_world(plate_corners(model, mount, sprite), x, y, heading, model.length)
            pq, depth = pose.project(corners)
            if (depth < 0.5).any():
                continue
            quad = pq
            _warp_plate(img, sprite, pq, light if not lights_on else max(light, 0.75))
            break
    return Drawn(hull, bbox, quad)


def _warp_plate(img: np.ndarray, sprite: PlateSprite, quad: np.ndarray, light: float) -> None:
    h_img, w_img = img.shape[:2]
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 1
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w_img), min(y1, h_img)
    if cx1 - cx0 < 2 or cy1 - cy0 < 2:
        return
    plate_h = float(np.linalg.norm(quad[3] - quad[0]))
    src = sprite.for_height(plate_h)
    sh, sw = src.shape[:2]
    src_pts = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float32)
    dst_pts = (quad - [cx0, cy0]).astype(np.float32)
    M = cv2.getPerspectiveTransform(src_pts, dst_pts)
    size = (cx1 - cx0, cy1 - cy0)
    warped = cv2.warpPerspective(src, M, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((size[1], size[0]), np.uint8)
    fill(mask, quad - [cx0, cy0], (255, 255, 255))
    roi = img[cy0:cy1, cx0:cx1]
    a = (mask.astype(np.float32) / 255.0)[:, :, None]
    roi[:] = (roi * (1 - a) + warped.astype(np.float32) * (a * light)).astype(np.uint8)
