"""Synthetic Vietnamese licence plates: invent a plausible plate, and draw it front-on.

``random_plate`` follows the grammar in ``cases/plates.py`` (and ../shared/DOMAIN.md) with the mix a
Hồ Chí Minh City street shows; every text it returns satisfies ``cases.plates.is_valid``.
``render_plate`` draws a clean, front-view BGR image at the plate's true aspect ratio with one of
the fonts shipped in ``ingest/sim/fonts/``; ``ingest/sim/plate_augment.py`` turns it into a crop
that looks photographed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cases.plates import (
    BLUE_SERIES,
    PROV,
    Layout,
    PlateColour,
    PlateKind,
    is_valid,
    normalize,
    parse,
    printed,
    serial_printed,
)

FONT_DIR = Path(__file__).with_name("fonts")
FONTS: dict[str, Path] = {
    "din": FONT_DIR / "OSP-DIN.ttf",
    "roboto-condensed": FONT_DIR / "RobotoCondensed-Regular.ttf",
    "roboto-condensed-medium": FONT_DIR / "RobotoCondensed-Medium.ttf",
}
DEFAULT_FONT = "din"

VEHICLE_CLASSES = ("motorbike", "car", "bus", "truck")

# Plate sizes in millimetres (width, height).
PLATE_MM: dict[str, tuple[float, float]] = {
    "one-row": (520.0, 110.0),
    "two-row-car": (330.0, 165.0),
    "motorbike": (190.0, 140.0),
}

_L20 = "ABCDEFGHKLMNPSTUVXYZ"
_MOTO_LETTER_2 = "ABCDEFHKLMNPRSTUVXYZ"
_SERIES_DIGITS = tuple("123456789")
# The series digit of a motorbike plate (the "1" of 59-T1) is issued in order, 1 first, so on the
# street most plates carry a 1 there; a uniform prior (1 in 9 plates) left the reader unsure of the
# thin real "1" at that place (dropped, or read as T or 7). 1 in 40% of plates, the rest uniform.
MOTO_SERIES_DIGIT_P = [0.4] + [0.6 / 8] * 8
_PROVINCES = tuple(f"{n:02d}" for n in range(10, 100) if re.fullmatch(PROV, f"{n:02d}"))
_HCMC = ("41", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "61", "72")
_HANOI = ("29", "30", "31", "32", "33", "40")
# Motorbike plates of Hồ Chí Minh City whose series starts with R (51-R4, 54-R2: seen among the
# real photos the reader failed on) are outside DOMAIN.md's L20 letters, so ``random_plate`` draws
# them only when asked (``r_series_p``): the reader's training set asks, at the rate of any other
# series letter (1 in 21); the scene simulator does not, so its seeds keep their plates. They carry
# a series digit and a 4-digit serial, as every one in those photos does: the grammar accepts such
# a text (as the special series R with a 5-digit serial), so reads of them are not flagged.
R_SERIES_P = 1 / 21
# Two-letter motorbike series (51-FB, 27-AA, 88-AB) on 8 % of the simulator's motorbike plates. The
# stage-23 reader read the second letter of 7 of the real set's 12 such plates as a digit (B and A
# as 8, P as 1): a digit follows the first letter on every other motorbike plate it was shown. The
# reader's training set draws them on 16 % of motorbike plates (``two_letter_p``); the scene
# simulator keeps 8 % so that its seeds keep their plates.
TWO_LETTER_P = 0.08
TWO_LETTER_P_TRAIN = 0.16
# Special series that need only ASCII (TĐ / MĐ carry a Đ the reader's alphabet leaves out).
_SPECIAL_ASCII = ("LD", "DA", "KT", "MK", "HC", "CD", "R", "T")

_BACKGROUND_BGR: dict[PlateColour, tuple[int, int, int]] = {
    PlateColour.WHITE: (236, 238, 238),
    PlateColour.YELLOW: (40, 200, 236),
    PlateColour.BLUE: (150, 60, 20),
    PlateColour.RED: (40, 40, 200),
}
_INK_BGR: dict[PlateColour, tuple[int, int, int]] = {
    PlateColour.WHITE: (25, 25, 25),
    PlateColour.YELLOW: (25, 25, 25),
    PlateColour.BLUE: (245, 245, 245),
    PlateColour.RED: (245, 245, 245),
}


@dataclass(frozen=True)
class SimPlate:
    """One invented plate. ``text`` is normalised (letters and digits); ``printed`` is what the
    plate shows, rows joined by ``" / "``."""

    text: str
    printed: str
    layout: Layout
    colour: PlateColour
    kind: PlateKind

    def __post_init__(self) -> None:
        if not is_valid(self.text):
            raise ValueError(f"expected a valid Vietnamese plate text, got {self.text!r}")
        if normalize(self.printed) != self.text:
            raise ValueError(
                f"expected printed form {self.printed!r} to normalise to {self.text!r}"
            )

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple(self.printed.split(" / "))

    @property
    def size_mm(self) -> tuple[float, float]:
        """Physical (width, height) of the plate in millimetres."""
        if self.layout == Layout.ONE_ROW:
            return PLATE_MM["one-row"]
        if self.kind == PlateKind.MOTORBIKE or _motorbike_sized(self):
            return PLATE_MM["motorbike"]
        return PLATE_MM["two-row-car"]


def _motorbike_sized(plate: SimPlate) -> bool:
    head = plate.rows[0]
    return "-" in head  # motorbike rows are "59-X1"; two-row car rows are "51A"


def _pick(rng: np.random.Generator, options: tuple | list, p: list[float] | None = None):
    return options[int(rng.choice(len(options), p=p))]


def _province(rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.5:
        # 59 and 51 dominate real HCMC traffic.
        return _pick(rng, ("59", "51", "50", "52", "53", "54", "55", "56", "57", "58", "41", "61", "72"),
                     p=[0.3, 0.25, 0.04, 0.05, 0.04, 0.06, 0.04, 0.03, 0.03, 0.03, 0.03, 0.05, 0.05])
    if roll < 0.65:
        return _pick(rng, _HANOI)
    return _pick(rng, _PROVINCES)


def _serial(rng: np.random.Generator, p_legacy: float) -> str:
    digits = 4 if rng.random() < p_legacy else 5
    return "".join(str(int(d)) for d in rng.integers(0, 10, size=digits))


def _make(text: str, layout: Layout, colour: PlateColour, kind: PlateKind) -> SimPlate:
    return SimPlate(text=text, printed=printed(text, layout, kind), layout=layout, colour=colour, kind=kind)


def _colour(rng: np.random.Generator, vehicle_class: str) -> PlateColour:
    if vehicle_class == "motorbike":
        weights = {PlateColour.WHITE: 0.96, PlateColour.BLUE: 0.03, PlateColour.RED: 0.01}
    elif vehicle_class == "car":
        weights = {
            PlateColour.WHITE: 0.72, PlateColour.YELLOW: 0.18, PlateColour.BLUE: 0.07, PlateColour.RED: 0.03
        }
    else:  # bus, truck: mostly commercial transport
        weights = {
            PlateColour.YELLOW: 0.6, PlateColour.WHITE: 0.33, PlateColour.BLUE: 0.05, PlateColour.RED: 0.02
        }
    colours = list(weights)
    return colours[int(rng.choice(len(colours), p=list(weights.values())))]


def random_plate(
    rng: np.random.Generator, vehicle_class: str, *, r_series_p: float = 0.0, two_letter_p: float = TWO_LETTER_P
) -> SimPlate:
    """A plausible plate for a vehicle of ``vehicle_class`` (motorbike, car, bus or truck).

    Deterministic for a given generator state. Motorbikes get two-row plates (series like X1, B2,
    sometimes two letters like HA); cars mostly one-row plates with 5-digit serials, some two-row,
    some legacy 4-digit; buses and trucks mostly yellow (commercial); blue plates only with series
    A–H, K, L, M; a few special series (LD, KT, ...); red military plates rarely. With
    ``r_series_p`` > 0 that share of the motorbikes that are not blue get an R series (R and a
    digit) and a 4-digit serial (``R_SERIES_P``), printed like any motorbike plate (``54-R2 / 4924``).
    ``two_letter_p`` is the share of the other motorbike plates whose series is two letters.
    """
    if vehicle_class not in VEHICLE_CLASSES:
        raise ValueError(f"expected vehicle_class in {VEHICLE_CLASSES}, got {vehicle_class!r}")
    colour = _colour(rng, vehicle_class)
    letters = "".join(sorted(BLUE_SERIES)) if colour == PlateColour.BLUE else _L20
    prov = _province(rng)

    if vehicle_class == "motorbike":
        first = _pick(rng, tuple(letters))
        r_series = bool(r_series_p and colour != PlateColour.BLUE and rng.random() < r_series_p)
        first = "R" if r_series else first
        # two-letter series (29-HA) are new and still rare on the street
        digit = rng.random() < 1 - two_letter_p or r_series
        second = _pick(rng, _SERIES_DIGITS, p=MOTO_SERIES_DIGIT_P) if digit else _pick(rng, tuple(_MOTO_LETTER_2))
        serial = _serial(rng, p_legacy=1.0 if r_series else 0.35)
        text = f"{prov}{first}{second}{serial}"
        if r_series:  # not among the grammar's motorbike letters: printed here, not by cases.plates
            row = f"{prov}-{first}{second} / {serial_printed(serial)}"
            return SimPlate(text=text, printed=row, layout=Layout.TWO_ROW, colour=colour, kind=PlateKind.MOTORBIKE)
        return _make(text, Layout.TWO_ROW, colour, PlateKind.MOTORBIKE)

    if colour in (PlateColour.WHITE, PlateColour.YELLOW) and rng.random() < 0.04:
        series = _pick(rng, _SPECIAL_ASCII)
        text = f"{prov}{series}{_serial(rng, p_legacy=0.15)}"
        layout = Layout.ONE_ROW if rng.random() < 0.75 else Layout.TWO_ROW
        if PlateKind.SPECIAL not in {p.kind for p in parse(text)}:  # pragma: no cover - grammar guard
            raise AssertionError(f"special series generated an unparsable plate {text!r}")
        return _make(text, layout, colour, PlateKind.SPECIAL)

    series = _pick(rng, tuple(letters))
    text = f"{prov}{series}{_serial(rng, p_legacy=0.2)}"
    p_two_row = 0.2 if vehicle_class == "car" else 0.4
    layout = Layout.TWO_ROW if rng.random() < p_two_row else Layout.ONE_ROW
    return _make(text, layout, colour, PlateKind.CAR)


# --- rendering ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    if name not in FONTS:
        raise ValueError(f"expected a font in {sorted(FONTS)}, got {name!r}")
    return ImageFont.truetype(str(FONTS[name]), size)


@functools.lru_cache(maxsize=1024)
def _glyph(name: str, char: str, cap_px: int) -> np.ndarray:
    """Ink mask (uint8) of one character, cropped horizontally to its ink and vertically to the
    cap box [top of "H", baseline] extended for glyphs that go below it."""
    size = max(8, int(round(cap_px * 1.45)))
    font = _font(name, size)
    _, h_top, _, h_bottom = font.getbbox("H", anchor="ls")
    x0, y0, x1, y1 = font.getbbox(char, anchor="ls")
    pad = size
    canvas = Image.new("L", (int(x1 - x0 + 2 * pad), size * 3), 0)
    ImageDraw.Draw(canvas).text((pad - x0, 2 * size), char, font=font, fill=255, anchor="ls")
    arr = np.asarray(canvas)
    top, bottom = 2 * size + h_top, 2 * size + h_bottom
    cols = np.where(arr.max(axis=0) > 0)[0]
    if cols.size == 0:
        raise ValueError(f"font {name!r} has no ink for {char!r}")
    glyph = arr[top:bottom, cols[0] : cols[-1] + 1]
    scale = cap_px / max(1, glyph.shape[0])
    return cv2.resize(glyph, (max(1, round(glyph.shape[1] * scale)), cap_px), interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=64)
def _stem_px(name: str, cap_px: int) -> int:
    """Width of the font's vertical stem at ``cap_px``: the ink run across the middle of its "1"."""
    g = _glyph(name, "1", cap_px)
    return int((g[cap_px // 2] > 127).sum())


#: Where the real plate "4"'s stem starts, as a fraction of the cap height from the top.
OPEN_FOUR_STEM_TOP = 0.45


def _open_four(glyph: np.ndarray) -> np.ndarray:
    """The real plate "4": the diagonal rises to the full height, the stem starts just above the
    bar (``OPEN_FOUR_STEM_TOP``), so the top is open (the free fonts join the two at the top).

    Only the stem's own columns are erased: the diagonal, which meets the stem at its left edge,
    keeps its apex, so the "4" keeps the height of the other digits.
    """
    cap = glyph.shape[0]
    upper = glyph[: int(cap * 0.55)] > 127
    stem = np.where(upper.mean(axis=0) > 0.8)[0]
    if stem.size == 0:
        return glyph
    out = glyph.copy()
    out[: int(round(cap * OPEN_FOUR_STEM_TOP)), stem[0] : stem[-1] + 1] = 0
    return out


def _widen_light(glyph: np.ndarray, w_px: int, stem: int) -> np.ndarray:
    """``glyph`` widened to ``w_px`` columns of ink with its stems kept ``stem`` wide (the font's).

    Widening a glyph by a factor s widens its stems to ``stem * s``. Eroding them back also pulls
    every outer edge in by half the erosion, so the glyph is first widened past ``w_px`` by as much
    as the erosion takes off, eroded, cropped to its ink and fitted to ``w_px``: the outer contour
    (the left edge of the first character and the right edge of the last on a one-row plate,
    which real crops put at the crop edge) stays where the plain widening puts it.
    """
    cap, g0 = glyph.shape
    # widened to w: stems stem*w/g0, eroded by e = stem*(w/g0 - 1) leaves w - e columns = w_px
    wide = round(g0 * (w_px - stem) / (g0 - stem)) if g0 > 2 * stem else 2 * w_px
    wide = int(min(2 * w_px, max(w_px, wide)))
    g = cv2.resize(glyph, (wide, cap), interpolation=cv2.INTER_AREA)
    extra = int(round(stem * (wide / g0 - 1)))
    if extra < 1:
        return cv2.resize(glyph, (w_px, cap), interpolation=cv2.INTER_AREA)
    # on the binarised glyph (eroding anti-aliased edges would smear them), padded with background
    # so that the ink at the glyph's own edges is eroded like any other
    binary = np.pad(np.where(g > 127, 255, 0).astype(np.uint8), ((0, 0), (extra, extra)))
    thin = np.asarray(cv2.erode(binary, np.ones((1, extra + 1), np.uint8)), np.uint8)
    cols = np.flatnonzero(thin.max(axis=0) > 0)
    if cols.size == 0:
        return cv2.resize(glyph, (w_px, cap), interpolation=cv2.INTER_AREA)
    thin = thin[:, cols[0] : cols[-1] + 1]
    return np.asarray(cv2.resize(thin, (w_px, cap), interpolation=cv2.INTER_AREA), np.uint8)


def _draw_row(
    mask: np.ndarray,
    row: str,
    font: str,
    box: tuple[int, int, int, int],
    squeeze: float,
    fill: float = 0.97,
    tight_gap: float | None = None,
    keep_weight: bool = False,
    open_four: bool = False,
    slant: float = 0.0,
    cell_k: float | None = None,
    gap_px: float | None = None,
    dot_gap: float = 1.0,
) -> tuple[float, float]:
    """Draw ``row`` into ``mask`` across ``fill`` of the box (x0, y0, x1, y1), evenly spaced.

    By default the glyphs keep the font's width (times ``squeeze``) and the gaps stretch to fill
    the row. With ``tight_gap`` (a fraction of the cap height) the gaps are that size and the
    letters and digits are widened instead, as on real plates, whose wide, bold characters stand
    close together; the dash and the dot keep their own width. ``keep_weight`` keeps the stems of
    widened glyphs at the font's width (real plates: wide characters, light strokes) instead of
    widening them with the glyph; ``open_four`` draws the real plate's open-top "4". ``slant``
    leans the row to the right by that much per unit of height (an italic face), about the row's
    middle so that it stays in its box.

    ``cell_k`` lays the row out like another row of the same plate: its letters and digits get
    that factor (the other row's widening times its shrink) instead of one of their own; the gaps
    are then ``gap_px`` (the row is centred and narrower than the box) or, without it, stretch to
    fill the row. Returns the factor and the gap the row was drawn with, for the next row.

    ``dot_gap`` scales the two gaps beside a dot (``848.07``): on real plates the dot sits in a
    gap little wider than the others, its gaps about 0.6 of a normal one.
    """
    x0, y0, x1, y1 = box
    cap = y1 - y0
    if slant:
        band = np.zeros_like(mask[y0:y1])  # the row alone, drawn upright, then sheared into place
        used = _draw_row(band, row, font, (x0, 0, x1, cap), squeeze, fill, tight_gap, keep_weight, open_four,
                         cell_k=cell_k, gap_px=gap_px, dot_gap=dot_gap)
        shear = np.array([[1, -slant, slant * cap / 2], [0, 1, 0]], dtype=np.float32)  # the top moves right
        band = cv2.warpAffine(band, shear, (band.shape[1], band.shape[0]), flags=cv2.INTER_LINEAR)
        np.maximum(mask[y0:y1], band, out=mask[y0:y1])
        return used
    glyphs = [_open_four(_glyph(font, ch, cap)) if open_four and ch == "4" else _glyph(font, ch, cap)
              for ch in row]
    widths = [g.shape[1] * squeeze for g in glyphs]
    n = len(glyphs)
    avail = x1 - x0
    if cell_k is not None:
        k = cell_k
        widths = [w * k if ch.isalnum() else w for w, ch in zip(widths, row, strict=True)]
        if gap_px is None:  # the gaps fill the row (no narrower than 0.04 of the cap, no wider than 0.6)
            gap = float(np.clip((avail * fill - sum(widths)) / max(1, n - 1), 0.04 * cap, 0.6 * cap))
        else:
            gap = gap_px
    elif tight_gap is not None and n > 1:
        gap = tight_gap * cap
        stretchable = [ch.isalnum() for ch in row]
        fixed = sum(w for w, s in zip(widths, stretchable, strict=True) if not s)
        flexible = sum(w for w, s in zip(widths, stretchable, strict=True) if s)
        target = avail * fill - gap * (n - 1) - fixed
        k = float(np.clip(target / max(1.0, flexible), 0.6, 2.0))
        widths = [w * k if s else w for w, s in zip(widths, stretchable, strict=True)]
    else:
        k = 1.0
        gap = 0.12 * cap
    sx = min(1.0, (avail - gap * (n - 1)) / sum(widths))
    widths = [w * sx for w in widths]
    if n > 1 and tight_gap is None and cell_k is None:
        gap = min(0.45 * cap, max(0.04 * cap, (avail * fill - sum(widths)) / (n - 1)))
    gaps = [gap * (dot_gap if "." in row[i : i + 2] else 1.0) for i in range(n - 1)] + [0.0]
    total = sum(widths) + sum(gaps)
    x = x0 + (avail - total) / 2
    for ch, g, w, after in zip(row, glyphs, widths, gaps, strict=True):
        # A real plate's "1" is a thin stem with a short flag in a wider cell: widening it like the
        # other glyphs gives it a long flag that real plates never show.
        ink_w = w / k if ch == "1" else w
        w_px = max(1, int(round(ink_w)))
        if keep_weight and w_px > g.shape[1]:
            g = _widen_light(g, w_px, _stem_px(font, cap))
        else:
            g = cv2.resize(g, (w_px, cap), interpolation=cv2.INTER_AREA)
        xi = int(round(x + (w - ink_w) / 2))
        region = mask[y0 : y0 + cap, xi : xi + w_px]
        np.maximum(region, g[:, : region.shape[1]], out=region)
        x += w + after
    return k * sx, gap


def render_plate(
    plate: SimPlate,
    height_px: int,
    *,
    font: str = DEFAULT_FONT,
    squeeze: float = 1.0,
    text_scale: float = 1.0,
    border: bool = True,
    tight_gap: float | None = None,
    stroke: float = 0.0,
    two_row_cap: float = 0.34,
    keep_weight: bool = False,
    open_four: bool = False,
    slant: float = 0.0,
    matched_rows: bool = False,
    dot_gap: float = 1.0,
    size_mm: tuple[float, float] | None = None,
) -> np.ndarray:
    """Clean front view of ``plate`` as a BGR uint8 image ``height_px`` high, at the plate's true
    aspect ratio (one-row 520x110 mm, two-row car 330x165 mm, motorbike 190x140 mm).

    ``font`` is a key of ``FONTS``; ``squeeze`` (0.6–1.2) narrows or widens the glyphs before they
    are spaced across the row; ``text_scale`` (0.7–1.1) scales the characters and the width they
    span. Black ink on white/yellow, white ink on blue/red. ``tight_gap`` (0.02–0.4, a fraction of
    the cap height) spaces the characters like a real plate: close together, widened to fill the
    row. ``stroke`` (-0.03–0.06, a fraction of the cap height) thickens (or thins) the strokes:
    real plate characters are bolder than the free fonts. ``two_row_cap`` (0.3–0.42) is the cap
    height of each row of a two-row plate as a fraction of the plate height (real motorbike
    plates: about 0.37–0.40, rows close together). ``keep_weight`` keeps the stems of glyphs
    widened by ``tight_gap`` at the font's width (the real typeface: wide characters, light
    strokes); ``open_four`` draws the real plate's "4", whose stem does not reach the top;
    ``slant`` (0–0.3) leans the characters like the italic face of some older plates (e.g. Hanoi's).
    ``matched_rows`` draws both rows of a two-row plate in one character width, as real plates
    are: the row with more letters and digits is laid out as usual, the other row gets the same
    character width; a shorter top row keeps the same gaps and stands centred (``59-T1`` over
    ``848.07`` is narrower than the serial), a shorter serial spreads its gaps. ``dot_gap``
    (0.3–1.0) scales the gaps either side of the serial's dot (real plates: about 0.6).
    ``size_mm`` (width, height) replaces the plate's size (``SimPlate.size_mm``), e.g. the
    squarer older two-row car plates whose three-character top row (``30F``) stands over the
    serial in characters as large as a motorbike plate's.
    """
    if height_px < 8:
        raise ValueError(f"expected height_px >= 8, got {height_px}")
    if not 0.5 <= squeeze <= 1.3:
        raise ValueError(f"expected squeeze in [0.5, 1.3], got {squeeze}")
    if not 0.7 <= text_scale <= 1.1:
        raise ValueError(f"expected text_scale in [0.7, 1.1], got {text_scale}")
    if tight_gap is not None and not 0.02 <= tight_gap <= 0.4:
        raise ValueError(f"expected tight_gap in [0.02, 0.4] or None, got {tight_gap}")
    if not -0.03 <= stroke <= 0.06:
        raise ValueError(f"expected stroke in [-0.03, 0.06], got {stroke}")
    if not 0.3 <= two_row_cap <= 0.42:
        raise ValueError(f"expected two_row_cap in [0.3, 0.42], got {two_row_cap}")
    if not 0.3 <= dot_gap <= 1.0:
        raise ValueError(f"expected dot_gap in [0.3, 1.0], got {dot_gap}")
    if size_mm is not None and not (size_mm[0] > 0 and size_mm[1] > 0 and 1.0 <= size_mm[0] / size_mm[1] <= 5.0):
        raise ValueError(f"expected size_mm (width, height) with a width 1 to 5 times the height, got {size_mm}")
    w_mm, h_mm = size_mm if size_mm is not None else plate.size_mm
    out_h = int(height_px)
    out_w = max(8, int(round(out_h * w_mm / h_mm)))
    ss = max(2, int(np.ceil(160 / out_h)))  # supersample small plates
    H, W = out_h * ss, out_w * ss
    px = H / h_mm  # pixels per millimetre

    mask = np.zeros((H, W), np.uint8)
    rows = plate.rows
    margin_x = (16 * px if plate.layout == Layout.ONE_ROW else 13 * px) + (1 - text_scale) * W * 0.3
    if len(rows) == 1:
        cap = int(round(76 * px * text_scale))
        y0 = int(round((H - cap) / 2))
        _draw_row(mask, rows[0], font, (int(margin_x), y0, int(W - margin_x), y0 + cap), squeeze,
                  tight_gap=tight_gap, keep_weight=keep_weight, open_four=open_four, slant=slant,
                  dot_gap=dot_gap)
    else:
        cap = int(round(h_mm * two_row_cap * px * text_scale))
        # taller rows stand closer together: 0.11 of the height apart at cap 0.34, 0.062 at 0.40
        gap = H * (0.11 - 0.8 * (two_row_cap - 0.34))
        top = (H - 2 * cap - gap) / 2
        # With matched rows the row with more letters and digits goes first; ties: the top row.
        order = [0, 1]
        if matched_rows and sum(map(str.isalnum, rows[1])) > sum(map(str.isalnum, rows[0])):
            order = [1, 0]
        cell_k: float | None = None
        row_gap: float | None = None
        for i in order:
            y0 = int(round(top + i * (cap + gap)))
            fill = 0.97 if i else 0.97 - 0.15 * (1.1 - text_scale) / 0.4
            k_used, gap_used = _draw_row(
                mask, rows[i], font, (int(margin_x), y0, int(W - margin_x), y0 + cap), squeeze, fill,
                tight_gap=tight_gap, keep_weight=keep_weight, open_four=open_four, slant=slant,
                cell_k=cell_k, gap_px=row_gap if i == 0 else None, dot_gap=dot_gap)
            if matched_rows:
                cell_k, row_gap = k_used, gap_used

    if stroke:
        k = int(round(abs(stroke) * cap))
        if k >= 1:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
            mask = np.asarray(cv2.dilate(mask, kernel) if stroke > 0 else cv2.erode(mask, kernel), np.uint8)

    if border:
        inset = int(round(3 * px))
        thick = max(1, int(round(2.5 * px)))
        radius = int(round(8 * px))
        _rounded_rect(mask, inset, inset, W - 1 - inset, H - 1 - inset, radius, thick)

    bg = np.array(_BACKGROUND_BGR[plate.colour], np.float32)
    ink = np.array(_INK_BGR[plate.colour], np.float32)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    img = bg * (1 - alpha) + ink * alpha
    img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _rounded_rect(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int, r: int, thick: int) -> None:
    r = max(1, min(r, (x1 - x0) // 2, (y1 - y0) // 2))
    c = 255
    cv2.line(mask, (x0 + r, y0), (x1 - r, y0), c, thick)
    cv2.line(mask, (x0 + r, y1), (x1 - r, y1), c, thick)
    cv2.line(mask, (x0, y0 + r), (x0, y1 - r), c, thick)
    cv2.line(mask, (x1, y0 + r), (x1, y1 - r), c, thick)
    cv2.ellipse(mask, (x0 + r, y0 + r), (r, r), 180, 0, 90, c, thick)
    cv2.ellipse(mask, (x1 - r, y0 + r), (r, r), 270, 0, 90, c, thick)
    cv2.ellipse(mask, (x0 + r, y1 - r), (r, r), 90, 0, 90, c, thick)
    cv2.ellipse(mask, (x1 - r, y1 - r), (r, r), 0, 0, 90, c, thick)
