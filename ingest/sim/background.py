"""The static part of a scene (road, markings, kerbs, buildings, trees, signal housing), rendered
once per camera and lighting and reused for every frame."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ingest.sim.draw import poly, rect_xy, shade, to_pixels, wall_x, wall_y
from ingest.sim.layout import Layout

SIDEWALK_W = 4.0
FACADE_COLOURS = [
    (170, 205, 230),
    (120, 180, 220),
    (200, 200, 195),
    (150, 190, 160),
    (190, 170, 210),
    (110, 150, 200),
    (215, 215, 225),
    (140, 160, 170),
    (90, 140, 190),
    (180, 210, 210),
]
SIGN_COLOURS = [(40, 40, 200), (200, 90, 30), (30, 150, 230), (40, 140, 40), (170, 40, 140), (230, 230, 240)]


@dataclass(frozen=True)
class Background:
    """Pre-rendered background plus what per-frame drawing needs to know about it."""

    image: np.ndarray  # BGR, the camera's resolution
    lamp_centres: tuple[tuple[int, int], ...]  # red, yellow, green lamp centres (pixels)
    lamp_radius: int
    street_lights: tuple[tuple[float, float, float], ...]  # world positions of lamp heads


def _asphalt(layout: Layout, rng: np.random.Generator, night: bool, rain: bool) -> np.ndarray:
    """Road surface texture warped from a top-down canvas (20 px/m)."""
    w, h = layout.pose.width, layout.pose.height
    ppm = 20.0
    x0, x1 = layout.x_min - 30.0, layout.x_max + 30.0
    y0, y1 = layout.y_visible - 6.0, layout.y_visible + 200.0
    tw, th = int((x1 - x0) * ppm), int((y1 - y0) * ppm)
    base = np.array([92, 94, 96], dtype=np.float32)
    coarse = rng.normal(0, 1, (th // 4, tw // 4)).astype(np.float32)
    noise = np.asarray(cv2.resize(cv2.GaussianBlur(coarse, (0, 0), 3), (tw, th)), dtype=np.float32) * 10
    fine = cv2.GaussianBlur(rng.normal(0, 7, (th, tw)).astype(np.float32), (0, 0), 0.7)
    tex = base[None, None, :] + (noise + fine)[:, :, None]
    # tyre-polished tracks along each lane and patched repairs
    for lane in layout.lanes:
        for off in (-0.9, 0.9):
            cx = int((lane.centre + off - x0) * ppm)
            tex[:, max(0, cx - 7) : cx + 7] -= 7.0
        lc = int((lane.centre - x0) * ppm)
        tex[:, max(0, lc - 10) : lc + 10] += 4.0  # oil-stained centre of the lane

    for _ in range(40):
        px, py = rng.uniform(0, tw), rng.uniform(0, th)
        pw, ph = rng.uniform(15, 60), rng.uniform(20, 140)
        tone = rng.uniform(-18, 10)
        tex[int(py) : int(py + ph), int(px) : int(px + pw)] += tone
    tex = np.clip(tex, 0, 255).astype(np.uint8)
    if rain:
        tex = (tex * 0.62).astype(np.uint8)
    if night:
        tex = (tex * 0.35).astype(np.uint8)
    world_from_tex = np.array([[1 / ppm, 0, x0], [0, 1 / ppm, y0], [0, 0, 1.0]])
    H = layout.pose.ground_homography() @ world_from_tex
    return cv2.warpPerspective(
        tex, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )


def _sky(w: int, h: int, night: bool, rain: bool) -> np.ndarray:
    top = np.array(
        [30, 18, 12] if night else ([150, 150, 145] if rain else [235, 200, 160]), dtype=np.float32
    )
    bottom = np.array(
        [60, 45, 40] if night else ([185, 185, 180] if rain else [245, 230, 215]), dtype=np.float32
    )
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).astype(np.uint8).copy()


def render_background(
    layout: Layout,
    *,
    seed: int,
    night: bool = False,
    rain: bool = False,
    signal_region: tuple[int, int, int, int] | None = None,
) -> Background:
    """Render the static scene. Deterministic in (layout, seed, night, rain).

    ``signal_region`` overrides where the light housing is drawn (a knocked camera sees it moved).
    """
    rng = np.random.default_rng(seed)
    pose = layout.pose
    w, h = pose.width, pose.height
    img = _sky(w, h, night, rain)
    dim = 0.32 if night else (0.72 if rain else 1.0)
    road = _asphalt(layout, rng, night, rain)
    xl, xr = layout.x_min, layout.x_max
    far = layout.y_far + 80
    near = layout.y_visible - 4.0
    stop = layout.stop_y
    cross = (stop + 6.0, stop + 22.0) if stop is not None else None

    def c(col: tuple[int, int, int], f: float = 1.0) -> np.ndarray:
        return shade(col, f * dim)

    # far ground (beyond the buildings) and the road mask the asphalt texture shows through
    poly(img, pose, rect_xy(xl - 60, xr + 60, near, far + 200), c((120, 125, 125)), aa=False)
    mask = np.zeros((h, w), np.uint8)
    opposite = (xl - 7.6, xl - 0.6)
    for x0, x1 in [(opposite[0], xr)]:
        poly(mask, pose, rect_xy(x0, x1, near, far), (255, 255, 255))
    if cross:
        poly(mask, pose, rect_xy(xl - 60, xr + 60, cross[0] - 5, cross[1] + 5), (255, 255, 255))
    m = mask.astype(np.float32)[:, :, None] / 255.0
    img[:] = (img * (1 - m) + road * m).astype(np.uint8)

    # sidewalks and kerbs (both sides of the carriageway), broken by the cross street
    spans = [(near, far)]
    if cross:
        spans = [(near, cross[0] - 5), (cross[1] + 5, far)]
    tile = c((150, 160, 168))
    for y0, y1 in spans:
        for sx0, sx1, kerb_x in [
            (xr, xr + SIDEWALK_W, xr),
            (opposite[0] - SIDEWALK_W, opposite[0], opposite[0]),
        ]:
            poly(img, pose, rect_xy(sx0, sx1, y0, y1, 0.15), tile)
            poly(img, pose, wall_x(kerb_x, y0, y1, 0.0, 0.15), c((175, 180, 185)))
            # tile joints
            yy = y0
            while yy < min(y1, y0 + 60):
                poly(img, pose, rect_xy(sx0, sx1, yy, yy + 0.04, 0.151), shade(tile, 0.85), aa=True)
                yy += 1.0
        # median between the two carriageways
        poly(img, pose, rect_xy(xl - 0.6, xl, y0, y1, 0.2), c((160, 165, 165)))
        poly(img, pose, wall_x(xl, y0, y1, 0.0, 0.2), c((40, 200, 230)))  # yellow-painted kerb
        for yy in np.arange(y0, min(y1, y0 + 80), 1.0):
            poly(img, pose, wall_x(xl, yy, yy + 0.5, 0.0, 0.2), c((30, 30, 30)))

    white = c((225, 228, 228))
    yellow = c((40, 190, 235))
    # lane separators: dashed far from the stop line, solid on its last 12 m (no lane change)
    solid_from = (stop - 12.0) if stop is not None else None
    end_y = stop if stop is not None else far
    for lane in layout.lanes[1:]:
        x = lane.x0
        yy = near
        while yy < end_y:
            if solid_from is not None and yy >= solid_from:
                poly(img, pose, rect_xy(x - 0.075, x + 0.075, yy, end_y), white)
                break
            poly(img, pose, rect_xy(x - 0.075, x + 0.075, yy, min(yy + 2.0, end_y)), white)
            yy += 6.0
    # edge lines
    poly(img, pose, rect_xy(xr - 0.35, xr - 0.2, near, end_y), white)
    poly(img, pose, rect_xy(xl + 0.1, xl + 0.25, near, end_y), yellow)
    if stop is not None and cross:
        # stop line, zebra crossing, cross-street centre line, and the road beyond
        poly(img, pose, rect_xy(xl + 0.1, xr - 0.2, stop - 0.4, stop), white)
        for x in np.arange(xl + 0.3, xr - 0.3, 1.0):
            poly(img, pose, rect_xy(x, x + 0.55, stop + 1.2, stop + 5.2), white)
        for x in np.arange(xl - 40, xr + 40, 5.0):
            poly(
                img,
                pose,
                rect_xy(x, x + 2.0, (cross[0] + cross[1]) / 2 - 0.07, (cross[0] + cross[1]) / 2 + 0.07),
                white,
            )
        for x in np.arange(xl + 0.3, xr - 0.3, 1.0):
            poly(img, pose, rect_xy(x, x + 0.55, cross[1] + 0.5, cross[1] + 4.5), white)
        for lane in layout.lanes[1:]:
            for yy in np.arange(cross[1] + 6, far, 6.0):
                poly(img, pose, rect_xy(lane.x0 - 0.075, lane.x0 + 0.075, yy, yy + 2.0), white)
        # straight-ahead arrows before the stop line
        for lane in layout.lanes:
            cx, y0 = lane.centre, stop - 7.5
            shaft = np.array(
                [[cx - 0.1, y0, 0], [cx + 0.1, y0, 0], [cx + 0.1, y0 + 3.2, 0], [cx - 0.1, y0 + 3.2, 0]]
            )
            head = np.array([[cx - 0.35, y0 + 3.2, 0], [cx + 0.35, y0 + 3.2, 0], [cx, y0 + 4.6, 0]])
            poly(img, pose, shaft, white)
            poly(img, pose, head, white)
    # opposite carriageway markings (lane line, dashed)
    for yy in np.arange(near, far, 6.0):
        if cross and cross[0] - 5 < yy < cross[1] + 5:
            continue
        poly(img, pose, rect_xy(opposite[0] + 3.45, opposite[0] + 3.6, yy, yy + 2.0), white)
    # speed-measurement marks on the kerb side
    if layout.speed_entry_y is not None and layout.speed_exit_y is not None:
        for y in (layout.speed_entry_y, layout.speed_exit_y):
            for x in np.arange(xl + 0.3, xr - 0.3, 1.2):
                poly(img, pose, rect_xy(x, x + 0.6, y - 0.1, y + 0.1), white)
    # no-stopping zones: yellow zig-zag border and hatch
    for zone in layout.zones:
        zx0, zx1, zy0, zy1 = zone.x0, zone.x1, zone.y0, zone.y1
        for yy in np.arange(zy0, zy1, 1.0):
            poly(
                img,
                pose,
                np.array([[zx0, yy, 0], [zx0 + 0.12, yy, 0], [zx1, yy + 0.9, 0], [zx1 - 0.12, yy + 0.9, 0]]),
                yellow,
            )
        for x0, x1, y0, y1 in [
            (zx0, zx1, zy0, zy0 + 0.12),
            (zx0, zx1, zy1 - 0.12, zy1),
            (zx0, zx0 + 0.12, zy0, zy1),
            (zx1 - 0.12, zx1, zy0, zy1),
        ]:
            poly(img, pose, rect_xy(x0, x1, y0, y1), yellow)
        _sign(img, pose, xr + 0.5, (zy0 + zy1) / 2, dim)

    street_lights = _buildings_and_props(img, layout, rng, spans, night, dim)
    lamp_centres, lamp_r = _signal_head(img, layout, dim, signal_region)
    if night:
        img = _night_glow(img, pose, street_lights)
    return Background(
        image=img, lamp_centres=lamp_centres, lamp_radius=lamp_r, street_lights=tuple(street_lights)
    )


def _sign(img: np.ndarray, pose, x: float, y: float, dim: float) -> None:
    """A "no stopping or parking" sign (blue disc, red ring, red cross) on a pole."""
    poly(img, pose, wall_y(y, x - 0.03, x + 0.03, 0.15, 2.3), shade((150, 150, 150), dim))
    centre = np.array([[x, y, 2.55], [x + 0.3, y, 2.55]])
    uv, depth = pose.project(centre)
    if (depth <= 0.5).any():
        return
    r = int(np.linalg.norm(uv[1] - uv[0]))
    cx, cy = int(uv[0, 0]), int(uv[0, 1])
    cv2.circle(img, (cx, cy), r, tuple(int(v) for v in shade((40, 40, 210), dim)), -1, cv2.LINE_AA)
    cv2.circle(
        img,
        (cx, cy),
        max(1, int(r * 0.78)),
        tuple(int(v) for v in shade((170, 90, 20), dim)),
        -1,
        cv2.LINE_AA,
    )
    d = int(r * 0.55)
    col = tuple(int(v) for v in shade((40, 40, 210), dim))
    cv2.line(img, (cx - d, cy - d), (cx + d, cy + d), col, max(1, r // 5), cv2.LINE_AA)
    cv2.line(img, (cx - d, cy + d), (cx + d, cy - d), col, max(1, r // 5), cv2.LINE_AA)


def _buildings_and_props(
    img, layout: Layout, rng, spans, night: bool, dim: float
) -> list[tuple[float, float, float]]:
    pose = layout.pose
    xl, xr = layout.x_min, layout.x_max
    opposite_edge = xl - 7.6 - SIDEWALK_W
    lights: list[tuple[float, float, float]] = []
    facades = []
    for y0, y1 in spans:
        for side, x in (("right", xr + SIDEWALK_W), ("left", opposite_edge)):
            yy = y0
            while yy < y1:
                width = float(rng.uniform(3.8, 6.0))
                height = float(rng.uniform(7.0, 17.0))
                facades.append((side, x, yy, min(yy + width, y1), height))
                yy += width
    # far to near so nearer facades paint over farther ones
    facades.sort(key=lambda f: -f[2])
    for side, x, y0, y1, height in facades:
        colour = FACADE_COLOURS[int(rng.integers(len(FACADE_COLOURS)))]
        poly(
            img,
            pose,
            wall_x(x, y0, y1, 0.15, height),
            shade(colour, (0.75 if side == "right" else 0.95) * dim),
        )
        # roller-shutter shopfront, sign board, windows
        poly(
            img,
            pose,
            wall_x(x, y0 + 0.3, y1 - 0.3, 0.15, 3.0),
            shade((60, 60, 65) if rng.random() < 0.5 else (120, 130, 135), dim),
        )
        sign = SIGN_COLOURS[int(rng.integers(len(SIGN_COLOURS)))]
        sign_dim = 1.0 if night else dim
        poly(
            img,
            pose,
            wall_x(x - (0.05 if side == "right" else -0.05), y0 + 0.2, y1 - 0.2, 3.2, 4.1),
            shade(sign, sign_dim * (0.9 if night else 1)),
        )
        for level in np.arange(5.0, height - 1.5, 3.2):
            for wy in np.arange(y0 + 0.6, y1 - 1.2, 1.8):
                lit = night and rng.random() < 0.45
                colour_w = (120, 200, 240) if lit else (70, 60, 55)
                poly(
                    img,
                    pose,
                    wall_x(x - (0.02 if side == "right" else -0.02), wy, wy + 1.0, level, level + 1.4),
                    shade(colour_w, 1.0 if lit else dim),
                )
    # street lights and trees on the right sidewalk, near to far order reversed for painting
    props = []
    for y0, y1 in spans:
        for y in np.arange(y0 + 3, min(y1, layout.y_far + 60), 11.0):
            props.append(("tree", xr + 2.2 + float(rng.uniform(-0.3, 0.3)), float(y + rng.uniform(-1, 1))))
            props.append(("tree", opposite_edge + 2.0, float(y + 4 + rng.uniform(-1, 1))))
        for y in np.arange(y0 + 8, min(y1, layout.y_far + 60), 30.0):
            props.append(("lamp", xr + 0.6, float(y)))
    props.sort(key=lambda p: -p[2])
    for kind, x, y in props:
        if kind == "tree":
            poly(img, pose, wall_y(y, x - 0.12, x + 0.12, 0.15, 3.5), shade((40, 60, 80), dim))
            uv, depth = pose.project(np.array([[x, y, 4.6], [x + 1.8, y, 4.6]]))
            if (depth > 0.5).all():
                r = int(np.linalg.norm(uv[1] - uv[0]))
                cx, cy = int(uv[0, 0]), int(uv[0, 1])
                for _k in range(7):
                    dx, dy = rng.normal(0, 0.4, 2) * r
                    tone = rng.uniform(0.7, 1.15)
                    cv2.circle(
                        img,
                        (int(cx + dx), int(cy + dy)),
                        max(1, int(r * rng.uniform(0.45, 0.7))),
                        tuple(int(v) for v in shade((50, 110, 60), tone * dim)),
                        -1,
                        cv2.LINE_AA,
                    )
        else:
            poly(img, pose, wall_y(y, x - 0.07, x + 0.07, 0.15, 8.0), shade((120, 125, 125), dim))
            poly(
                img,
                pose,
                np.array([[x, y, 8.0], [x - 2.0, y, 8.1], [x - 2.0, y, 8.2], [x, y, 8.1]]),
                shade((120, 125, 125), dim),
            )
            lights.append((x - 2.0, y, 8.0))
    return lights


def _signal_head(
    img: np.ndarray, layout: Layout, dim: float, region: tuple[int, int, int, int] | None = None
) -> tuple[tuple[tuple[int, int], ...], int]:
    """Pole and housing of the traffic light at ``signal.region``; returns the three lamp centres."""
    signal = layout.camera.signal
    if signal is None or signal.region is None:
        return (), 0
    x, y, w, h = region or signal.region
    # pole from the housing down to the kerb, in the image directly
    pole_w = max(2, w // 5)
    cv2.rectangle(
        img,
        (x + w // 2 - pole_w // 2, y + h),
        (x + w // 2 + pole_w // 2, min(img.shape[0] - 1, y + h + int(h * 0.85))),
        tuple(int(v) for v in shade((90, 95, 95), dim)),
        -1,
    )
    cv2.rectangle(img, (x, y), (x + w, y + h), (25, 25, 25), -1, cv2.LINE_AA)
    cv2.rectangle(img, (x, y), (x + w, y + h), (55, 55, 55), max(1, w // 16), cv2.LINE_AA)
    r = max(2, int(min(w * 0.36, h / 6 * 0.8)))
    centres = tuple((x + w // 2, int(y + h * (k + 0.5) / 3)) for k in range(3))
    for cx, cy in centres:
        cv2.circle(img, (cx, cy), r, (45, 45, 45), -1, cv2.LINE_AA)
        cv2.ellipse(
            img, (cx, cy - r // 3), (r + 2, r), 0, 180, 360, (15, 15, 15), max(1, r // 4), cv2.LINE_AA
        )
    return centres, r


def _night_glow(img: np.ndarray, pose, lights: list[tuple[float, float, float]]) -> np.ndarray:
    """Sodium street-light pools on the road and halos around the lamp heads."""
    h, w = img.shape[:2]
    small = np.zeros((h // 4, w // 4, 3), np.float32)
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    for x, y, z in lights:
        # the pool of light on the road: a world circle, seen in perspective
        pool = np.column_stack([x + 4.5 * np.cos(angles), y + 4.5 * np.sin(angles), np.zeros_like(angles)])
        pix = to_pixels(pose, pool)
        if pix is not None:
            cv2.fillPoly(small, [np.round(pix / 4 * 16).astype(np.int32)], (16, 38, 60), cv2.LINE_AA, 4)
        uv, depth = pose.project(np.array([[x, y, z], [x + 0.7, y, z]]))
        if (depth > 0.5).all():
            r = max(1.0, float(np.linalg.norm(uv[1] - uv[0])) / 4)
            cv2.circle(
                small, (int(uv[0, 0] / 4), int(uv[0, 1] / 4)), int(r), (120, 200, 255), -1, cv2.LINE_AA
            )
    small = cv2.GaussianBlur(small, (0, 0), 6)
    glow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(img.astype(np.float32) * (1 + glow / 255.0) + glow * 0.5, 0, 255).astype(np.uint8)
