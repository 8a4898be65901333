"""Synthetic plates: grammar validity, variety, printed form, rendering geometry."""

import numpy as np
import pytest

from cases.plates import Layout, PlateColour, PlateKind, colour_allowed, is_valid, normalize, printed
from ingest.sim.plates import FONTS, VEHICLE_CLASSES, SimPlate, random_plate, render_plate


def _many(n_seeds: int = 300, per_seed: int = 4) -> list[tuple[str, SimPlate]]:
    out = []
    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        for _ in range(per_seed):
            for vc in VEHICLE_CLASSES:
                out.append((vc, random_plate(rng, vc)))
    return out


PLATES = _many()


def test_every_generated_plate_is_valid_and_printed_right():
    assert len(PLATES) == 4800
    for vc, p in PLATES:
        assert is_valid(p.text), p
        assert p.text == normalize(p.text)
        assert p.printed == printed(p.text, p.layout, p.kind), p
        assert normalize(p.printed) == p.text
        assert colour_allowed(p.text, p.colour), p
        assert 7 <= len(p.text) <= 9, p
        if vc == "motorbike":
            assert p.layout == Layout.TWO_ROW and p.kind == PlateKind.MOTORBIKE


def test_all_layouts_colours_and_kinds_appear():
    assert {p.layout for _, p in PLATES} == set(Layout)
    assert {p.colour for _, p in PLATES} == set(PlateColour)
    assert {PlateKind.CAR, PlateKind.MOTORBIKE, PlateKind.SPECIAL} <= {p.kind for _, p in PLATES}
    serial_lengths = {len(p.printed.replace(".", "").split("-")[-1].split(" / ")[-1]) for _, p in PLATES}
    assert {4, 5} <= serial_lengths
    moto = [p for vc, p in PLATES if vc == "motorbike"]
    assert any(p.text[3].isalpha() for p in moto) and any(p.text[3].isdigit() for p in moto)
    heavy = [p for vc, p in PLATES if vc in ("bus", "truck")]
    assert sum(p.colour == PlateColour.YELLOW for p in heavy) > len(heavy) / 3
    hcmc = sum(p.text[:2] in {"59", "51"} for _, p in PLATES)
    assert hcmc > len(PLATES) * 0.15


def test_same_seed_same_plates_and_bad_class_rejected():
    a = [random_plate(np.random.default_rng(7), "car") for _ in range(3)]
    b = [random_plate(np.random.default_rng(7), "car") for _ in range(3)]
    assert a == b
    with pytest.raises(ValueError, match="vehicle_class"):
        random_plate(np.random.default_rng(0), "tram")


def test_known_printed_forms():
    p = SimPlate("59X123456", "59-X1 / 234.56", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE)
    assert p.rows == ("59-X1", "234.56")
    with pytest.raises(ValueError, match="valid Vietnamese plate"):
        SimPlate("ABC", "ABC", Layout.ONE_ROW, PlateColour.WHITE, PlateKind.CAR)


@pytest.mark.parametrize("font", sorted(FONTS))
def test_render_aspect_ratio_and_colours(font):
    one = SimPlate("51A12345", "51A-123.45", Layout.ONE_ROW, PlateColour.WHITE, PlateKind.CAR)
    two = SimPlate("51A12345", "51A / 123.45", Layout.TWO_ROW, PlateColour.BLUE, PlateKind.CAR)
    moto = SimPlate("59X123456", "59-X1 / 234.56", Layout.TWO_ROW, PlateColour.YELLOW, PlateKind.MOTORBIKE)
    for plate, ratio in ((one, 520 / 110), (two, 330 / 165), (moto, 190 / 140)):
        img = render_plate(plate, 100, font=font)
        assert img.dtype == np.uint8 and img.shape[0] == 100 and img.shape[2] == 3
        assert img.shape[1] == pytest.approx(100 * ratio, abs=1)
    white = render_plate(one, 60, font=font)
    assert np.median(white) > 180  # mostly white background, dark ink
    assert white.min() < 60
    blue = render_plate(two, 60, font=font)
    b, g, r = (np.median(blue[..., c]) for c in range(3))
    assert b > r + 60  # blue background with white ink
    assert blue.max() > 200


def _ink(img: np.ndarray) -> np.ndarray:
    """Dark-ink mask of a white plate, the border frame cut away."""
    h, w = img.shape[:2]
    return img.mean(axis=2)[int(h * 0.08) : int(h * 0.92), int(w * 0.05) : int(w * 0.95)] < 128


def test_real_plate_spacing_widens_glyphs_and_stroke_thickens_them():
    plate = SimPlate("59X123456", "59-X1 / 234.56", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE)
    loose = _ink(render_plate(plate, 140, squeeze=0.7))
    tight = _ink(render_plate(plate, 140, squeeze=0.7, tight_gap=0.12))
    # tight: the same characters span the row with narrow gaps, so fewer ink-free columns per row
    bottom = slice(loose.shape[0] // 2, loose.shape[0])
    assert (~tight[bottom].any(axis=0)).sum() < (~loose[bottom].any(axis=0)).sum()
    bold = _ink(render_plate(plate, 140, squeeze=0.7, tight_gap=0.12, stroke=0.03))
    assert bold.mean() > tight.mean() * 1.15
    tall = _ink(render_plate(plate, 140, two_row_cap=0.40))
    assert tall.any(axis=1).sum() > loose.any(axis=1).sum()  # taller rows cover more ink rows


@pytest.mark.parametrize("kwargs", [{"tight_gap": 0.5}, {"stroke": 0.2}, {"two_row_cap": 0.6}])
def test_render_rejects_out_of_range_style(kwargs):
    plate = SimPlate("51A12345", "51A-123.45", Layout.ONE_ROW, PlateColour.WHITE, PlateKind.CAR)
    with pytest.raises(ValueError, match="expected"):
        render_plate(plate, 60, **kwargs)


def test_motorbike_series_digit_is_mostly_one_like_real_plates():
    """Real motorbike plates mostly carry series digit 1 (59-T1): the generator must too, or the
    reader learns a uniform prior and drops or misreads the thin real "1" there."""
    digits = [p.text[3] for vc, p in PLATES if vc == "motorbike" and p.text[3].isdigit()]
    share_one = digits.count("1") / len(digits)
    assert 0.3 < share_one < 0.5
    assert set(digits) == set("123456789")
