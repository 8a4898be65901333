"""Domain randomisation: turn a clean rendered plate into a crop that looks like a real photo.

Real crops (a detector's box around a plate seen by a street camera) are tight but not exact, a
little rotated and skewed, taken at low resolution and often upscaled, blurred, unevenly lit, noisy
and JPEG-compressed; plates are dirty, worn, bolted on, sometimes framed or partly covered.
``augment_plate`` draws all of that from one ``numpy.random.Generator`` so a seed reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from cases.plates import Layout, PlateColour, PlateKind
from ingest.sim.plates import FONTS, PLATE_MM, SimPlate, render_plate

_FONT_NAMES = tuple(FONTS)
# OSP-DIN first: the real plate face is DIN-like. With 65 % (stage 11, was 45 %) the reader dropped
# half as many characters on real plates; 85 % (stage 12) gained nothing more. (Its M, closer to the
# real one, was the reason to try it, but the M->H confusions did not move: docs/model-plate-reader.md.)
_FONT_P = (0.65, 0.25, 0.1)


@dataclass(frozen=True)
class AugmentOptions:
    """Ranges for the randomisation; the defaults aim at ../shared/datasets/vn-plates-real."""

    render_height: tuple[int, int] = (110, 170)
    plate_height_px: tuple[int, int] = (24, 90)  # the plate's height when the camera saw it
    one_row_height_px: tuple[int, int] = (15, 48)
    upscale_p: float = 0.6  # real crops are often stored upscaled
    margin: tuple[float, float] = (-0.02, 0.14)  # crop margin per side, as a fraction of plate size
    max_rotate_deg: float = 7.0
    max_perspective: float = 0.07
    jpeg_quality: tuple[int, int] = (25, 95)
    tight_p: float = 0.7  # real-plate spacing: wide glyphs close together, tall two-row rows
    bold_p: float = 0.2  # strokes thickened by up to 2% of the cap height
    thin_p: float = 0.4  # strokes thinned by up to 2.5% of the cap height
    inside_p: float = 0.2  # detector boxes that cut into the plate: the text reaches the crop edge
    inside_margin: tuple[float, float] = (-0.05, 0.0)  # their margin per side (the bezel is ~7% wide)
    # one-row crops run closer still: the first or last character often touches the crop edge
    # (the stage-7 reader dropped the last digit on 15 of 223 real one-row plates)
    inside_p_one_row: float = 0.4
    light_p: float = 0.6  # the real typeface: glyphs widened, stems kept at the font's width
    open_four_p: float = 0.6  # the real "4": its stem does not reach the top
    slant_p: float = 0.15  # italic characters, as on many older plates (Hanoi's 29-/30- series)
    slant: tuple[float, float] = (0.1, 0.27)  # lean per unit of height (about 6-15 degrees)
    # Real two-row plates draw both rows in one character width: the top row (59-T1) is narrower
    # than the serial and centred; the free layout widens its glyphs to fill the row (stage 23).
    matched_rows_p: float = 0.7
    # Real serials set their dot in a gap little wider than the others: the gaps beside it are
    # 0.63 of a normal gap (median; IQR 0.56-0.85, 35 real two-row crops measured); the free
    # layout gave the dot a full gap on each side (stage 24).
    dot_gap_p: float = 0.7
    dot_gap: tuple[float, float] = (0.5, 0.85)
    # Some real two-row crops end inside a row: the box's top (or bottom) edge cuts off the top of
    # "59" (or the foot of the serial), and the stage-24 reader read such a cut "59" as "50" (stage
    # 25). The margin on that side, a fraction of the plate's height; the top row starts about 0.08-0.12 down.
    row_cut_p: float = 0.12
    row_cut: tuple[float, float] = (-0.2, -0.08)
    # A glossy plate catches a light as a thin bright streak across a row (stage 25).
    glare_p: float = 0.1
    # Older two-row car plates (30F / 510.10, 29A / 787.25: 26 of the real set's 717 two-row crops)
    # are squarer than today's 330x165 mm: their crops are 1.24-1.9 times as wide as high (median
    # 1.58), and their three-character top row stands in characters as large as the serial's. On
    # that share of the two-row car plates the width is drawn from ``square_car_aspect`` times the
    # height (stage 28).
    square_car_p: float = 0.0  # tried at 0.5 in stage 28: not better than its control, so off
    square_car_aspect: tuple[float, float] = (1.3, 1.8)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _plate_surface(plate: SimPlate, rng: np.random.Generator, height: int, opt: AugmentOptions) -> np.ndarray:
    """Rendered plate with ink/background variation, embossing, dirt, wear, bolts (float32 BGR)."""
    font = _FONT_NAMES[int(rng.choice(len(_FONT_NAMES), p=_FONT_P))]
    text_scale = _u(rng, 0.9, 1.05) if plate.layout == Layout.TWO_ROW else _u(rng, 0.9, 1.02)
    squeeze = _u(rng, 0.7, 1.05)
    # Real plates: wide, bold characters close together, two-row rows tall and close (see
    # docs/model-plate-reader.md, "synthetic vs real"); the rest keep the looser free-font look.
    tight_gap = _u(rng, 0.1, 0.26) if rng.random() < opt.tight_p else None
    roll = rng.random()
    # real strokes are about 0.2 of the cap height, a little thinner than the free fonts at 0.25
    thin = roll < opt.bold_p + opt.thin_p
    stroke = _u(rng, 0.0, 0.02) if roll < opt.bold_p else (_u(rng, -0.025, 0.0) if thin else 0.0)
    two_row_cap = _u(rng, 0.34, 0.39) if rng.random() < opt.tight_p else 0.34
    # The real typeface (stage 8): wide characters with light strokes, and a "4" open at the top.
    keep_weight = bool(rng.random() < opt.light_p)
    open_four = bool(rng.random() < opt.open_four_p)
    slant = _u(rng, *opt.slant) if rng.random() < opt.slant_p else 0.0
    matched_rows = bool(rng.random() < opt.matched_rows_p)
    dot_gap = _u(rng, *opt.dot_gap) if rng.random() < opt.dot_gap_p else 1.0
    size_mm = None
    # drawn only when asked: at 0 the plates keep the images stages 27-29 were trained on
    if opt.square_car_p and plate.size_mm == PLATE_MM["two-row-car"] and rng.random() < opt.square_car_p:
        h_mm = PLATE_MM["two-row-car"][1]
        size_mm = (h_mm * _u(rng, *opt.square_car_aspect), h_mm)
    img = render_plate(plate, height, font=font, squeeze=squeeze, text_scale=text_scale, tight_gap=tight_gap,
                       stroke=stroke, two_row_cap=two_row_cap, keep_weight=keep_weight, open_four=open_four,
                       slant=slant, matched_rows=matched_rows, dot_gap=dot_gap, size_mm=size_mm)
    img = img.astype(np.float32)
    h, w = img.shape[:2]

    # Ink versus background: recolour from the clean render (darker pixels = ink on light plates).
    grey = img.mean(axis=2)
    light_bg = plate.colour in (PlateColour.WHITE, PlateColour.YELLOW)
    ink = (1 - grey / 255.0) if light_bg else grey / 255.0
    ink = np.clip((ink - ink.min()) / max(1e-6, ink.max() - ink.min()), 0, 1)
    bg = img * 0 + np.array(_background_tint(plate.colour, rng), np.float32)
    ink_col = np.array(
        [_u(rng, 0, 60)] * 3 if light_bg else [_u(rng, 200, 255)] * 3, np.float32
    ) + rng.normal(0, 6, 3).astype(np.float32)
    # Embossed characters: a faint light/dark offset copy of the ink.
    if rng.random() < 0.6:
        d = max(1, int(round(h * _u(rng, 0.005, 0.02))))
        shifted = np.roll(np.roll(ink, d, axis=0), d, axis=1)
        bg = bg * (1 - 0.25 * shifted[..., None]) if rng.random() < 0.5 else bg + 20 * shifted[..., None]
    surface = bg * (1 - ink[..., None]) + ink_col * ink[..., None]

    # Dirt and wear: smooth low-frequency blotches.
    if rng.random() < 0.55:
        blotch = cv2.resize(rng.random((6, 9)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        surface *= 1 - _u(rng, 0.05, 0.35) * np.clip(blotch, 0, 1)[..., None]
    if rng.random() < 0.25:  # scratches / specks
        for _ in range(int(rng.integers(3, 25))):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = max(1, int(h * _u(rng, 0.005, 0.025)))
            col = float(rng.uniform(40, 230))
            cv2.circle(surface, (x, y), r, (col, col, col), -1)
    # Bolts / rivets near the top (and on motorbike plates between the rows).
    if rng.random() < 0.5:
        r = max(1, int(h * _u(rng, 0.025, 0.05)))
        col = float(rng.uniform(60, 200))
        ys = [int(h * _u(rng, 0.06, 0.14))]
        xs = [int(w * _u(rng, 0.08, 0.2)), int(w * _u(rng, 0.8, 0.92))]
        if plate.layout == Layout.TWO_ROW and rng.random() < 0.5:
            ys = [int(h * _u(rng, 0.46, 0.54))]
        for x in xs:
            for y in ys:
                cv2.circle(surface, (x, y), r, (col, col, col), -1)
                cv2.circle(surface, (x, y), r, (col * 0.5,) * 3, max(1, r // 3))
    if rng.random() < opt.glare_p:
        surface = _glare(surface, rng)
    # The small embossed emblem between province and series on newer motorbike plates.
    if plate.kind == PlateKind.MOTORBIKE and rng.random() < 0.25:
        r = max(2, int(h * 0.045))
        cx, cy = w // 2 + int(w * _u(rng, -0.03, 0.03)), int(h * 0.14)
        emblem = ink_col * 0.6 + bg[cy, cx] * 0.4
        cv2.circle(surface, (cx, cy), r, tuple(float(c) for c in emblem), max(1, r // 3))
    return np.clip(surface, 0, 255)


def _glare(surface: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thin bright streak across the plate, nearly level (light caught by the glossy film)."""
    h, w = surface.shape[:2]
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    centre = h * _u(rng, 0.1, 0.9) + (xs - w / 2) * _u(rng, -0.12, 0.12)  # (1, w): the streak's middle per column
    half = h * _u(rng, 0.02, 0.05)
    band = np.clip(1.0 - np.abs(ys - centre) / half, 0.0, 1.0) ** 0.5  # soft edges
    strength = _u(rng, 0.5, 0.95) * band[..., None]
    return surface * (1 - strength) + 250.0 * strength


def _background_tint(colour: PlateColour, rng: np.random.Generator) -> tuple[float, float, float]:
    if colour == PlateColour.WHITE:
        base = rng.uniform(175, 250)
        b, g, r = (float(base + rng.normal(0, 9)) for _ in range(3))  # greyish, bluish, pinkish
        return (b, g, r)
    if colour == PlateColour.YELLOW:
        return (_u(rng, 10, 90), _u(rng, 170, 225), _u(rng, 200, 250))
    if colour == PlateColour.BLUE:
        return (_u(rng, 120, 200), _u(rng, 40, 100), _u(rng, 0, 50))
    return (_u(rng, 20, 70), _u(rng, 20, 70), _u(rng, 160, 230))


def _scene_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Vehicle body / bumper / darkness around the plate."""
    grey = rng.uniform(0, 255) * (0.35 if rng.random() < 0.5 else 1.0)
    base = np.clip(grey + rng.normal(0, 25 if rng.random() < 0.7 else 70, 3), 0, 255)
    grad = np.linspace(_u(rng, 0.5, 1.0), _u(rng, 0.5, 1.2), h, dtype=np.float32)[:, None, None]
    bg = np.ones((h, w, 3), np.float32) * base.astype(np.float32) * grad
    noise = cv2.resize(rng.normal(0, 25, (8, 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(bg + noise, 0, 255)


def _add_frame(surface: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plastic/chrome bezel around the plate."""
    h, w = surface.shape[:2]
    t = max(1, int(h * _u(rng, 0.03, 0.09)))
    col = rng.uniform(0, 80, 3) if rng.random() < 0.7 else rng.uniform(150, 230, 3)
    framed = np.empty((h + 2 * t, w + 2 * t, 3), np.float32)
    framed[:] = col.astype(np.float32)
    framed[t : t + h, t : t + w] = surface
    return framed


def augment_plate(
    plate: SimPlate, rng: np.random.Generator, options: AugmentOptions | None = None
) -> np.ndarray:
    """A photographed-looking BGR uint8 crop of ``plate``: the plate, slightly rotated and skewed,
    inside a jittered box with some surroundings, at a random camera resolution."""
    opt = options or AugmentOptions()
    surface = _plate_surface(plate, rng, int(rng.integers(*opt.render_height)), opt)
    if rng.random() < 0.25:
        surface = _add_frame(surface, rng)
    ph, pw = surface.shape[:2]

    # Place on a canvas with room for warping and margins.
    pad = int(max(ph, pw) * 0.35)
    canvas = _scene_background(rng, ph + 2 * pad, pw + 2 * pad)
    canvas[pad : pad + ph, pad : pad + pw] = surface
    corners = np.array([[pad, pad], [pad + pw, pad], [pad + pw, pad + ph], [pad, pad + ph]], np.float32)

    # Rotation + perspective: move each corner, then rotate about the centre.
    # Horizontal corner moves scale with at most 1.5 plate heights: on a wide one-row plate a move
    # of 7% of the width would shear the characters far more than real crops show.
    jitter = rng.uniform(-opt.max_perspective, opt.max_perspective, (4, 2)) * np.array(
        [min(pw, 1.5 * ph), ph], np.float32
    )
    dst = corners + jitter.astype(np.float32)
    angle = np.deg2rad(rng.normal(0, opt.max_rotate_deg / 2.5))
    angle = float(np.clip(angle, -np.deg2rad(opt.max_rotate_deg), np.deg2rad(opt.max_rotate_deg)))
    centre = dst.mean(axis=0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    dst = (dst - centre) @ rot.T + centre
    H = cv2.getPerspectiveTransform(corners, dst.astype(np.float32))
    warped = cv2.warpPerspective(canvas, H, (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)

    # Crop like a detector box: bounding box of the warped plate plus jittered margins.
    x0, y0 = dst.min(axis=0)
    x1, y1 = dst.max(axis=0)
    bw, bh = x1 - x0, y1 - y0
    m = rng.uniform(*opt.margin, 4)
    if rng.random() < 0.5:  # most real crops are tight
        m = m * 0.35
    # Many real two-row crops end at the last digit (the box cut into the plate); without such
    # crops the reader dropped a character near the edge (docs/model-plate-reader.md).
    if rng.random() < (opt.inside_p_one_row if plate.layout == Layout.ONE_ROW else opt.inside_p):
        m = rng.uniform(*opt.inside_margin, 4)
    if plate.layout == Layout.TWO_ROW and rng.random() < opt.row_cut_p:
        m[1 if rng.random() < 0.5 else 3] = _u(rng, *opt.row_cut)  # the top or the bottom edge
    cx0 = int(np.clip(x0 - m[0] * bw, 0, warped.shape[1] - 2))
    cy0 = int(np.clip(y0 - m[1] * bh, 0, warped.shape[0] - 2))
    cx1 = int(np.clip(x1 + m[2] * bw, cx0 + 2, warped.shape[1]))
    cy1 = int(np.clip(y1 + m[3] * bh, cy0 + 2, warped.shape[0]))
    crop = warped[cy0:cy1, cx0:cx1]

    # Partial occlusion at an edge (a hand, a leg, a bag strap, a shadowed bracket).
    if rng.random() < 0.12:
        ch, cw = crop.shape[:2]
        ow, oh = int(cw * _u(rng, 0.05, 0.18)), int(ch * _u(rng, 0.1, 0.5))
        ox = 0 if rng.random() < 0.5 else cw - ow
        oy = int(rng.integers(0, max(1, ch - oh)))
        crop = crop.copy()
        crop[oy : oy + oh, ox : ox + ow] = rng.uniform(0, 255, 3).astype(np.float32)

    crop = _lighting(crop, rng)
    crop = _camera(crop, plate, rng, opt)
    return crop


def _lighting(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    mode = rng.choice(["day", "dark", "bright", "night", "shade"], p=[0.45, 0.15, 0.12, 0.1, 0.18])
    if mode == "dark":
        img = img * _u(rng, 0.3, 0.7)
    elif mode == "bright":
        img = img * _u(rng, 1.1, 1.6) + _u(rng, 0, 40)
    elif mode == "night":
        img = img * _u(rng, 0.3, 0.6) * np.array([_u(rng, 0.9, 1.3), 1.0, _u(rng, 0.7, 1.0)], np.float32)
    elif mode == "shade":  # uneven: a linear gradient across the plate
        gx = np.linspace(_u(rng, 0.4, 1.2), _u(rng, 0.4, 1.2), w, dtype=np.float32)[None, :, None]
        gy = np.linspace(_u(rng, 0.6, 1.1), _u(rng, 0.6, 1.1), h, dtype=np.float32)[:, None, None]
        img = img * gx * gy
    # colour cast and contrast
    img = img * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    mean = img.mean()
    img = (img - mean) * _u(rng, 0.6, 1.3) + mean
    if rng.random() < 0.3:
        gamma = _u(rng, 0.6, 1.6)
        img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** gamma
    return np.clip(img, 0, 255)


def _motion_kernel(rng: np.random.Generator, length: int) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), _u(rng, 0, 180), 1.0)
    warped = np.asarray(cv2.warpAffine(k, rot, (length, length)), np.float32)
    return warped / max(1e-6, float(warped.sum()))


def _camera(img: np.ndarray, plate: SimPlate, rng: np.random.Generator, opt: AugmentOptions) -> np.ndarray:
    """Resolution loss, blur, sensor noise, JPEG; returns uint8 BGR."""
    h, w = img.shape[:2]
    lo, hi = opt.one_row_height_px if plate.layout == Layout.ONE_ROW else opt.plate_height_px
    small_h = int(rng.integers(lo, hi + 1))
    if small_h < h:
        small_w = max(4, int(round(w * small_h / h)))
        img = cv2.resize(img, (small_w, small_h), interpolation=cv2.INTER_AREA)
    blur = rng.random()
    if blur < 0.35:
        sigma = _u(rng, 0.3, 0.9) * max(1.0, small_h / 40)
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    elif blur < 0.5:
        img = cv2.filter2D(img, -1, _motion_kernel(rng, int(rng.integers(2, 4))))
    if rng.random() < 0.7:
        img = img + rng.normal(0, _u(rng, 1, 10), img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    q = int(rng.integers(opt.jpeg_quality[0], opt.jpeg_quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover
        raise RuntimeError("JPEG decoding failed")
    img = decoded
    if rng.random() < opt.upscale_p:
        target_h = int(rng.integers(max(img.shape[0], 60), 200))
        target_w = max(4, int(round(img.shape[1] * target_h / img.shape[0])))
        interp = cv2.INTER_LINEAR if rng.random() < 0.5 else cv2.INTER_CUBIC
        img = cv2.resize(img, (target_w, target_h), interpolation=interp)
    return img
