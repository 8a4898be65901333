"""Plate-crop data set: fast-plate-ocr format, deterministic from the seed; augmentation sanity."""

import csv
import hashlib
from dataclasses import replace

import numpy as np
import pytest

from cases.plates import Layout, PlateColour, PlateKind, is_valid
from ingest.sim.ocr_dataset import PLATE_CONFIG, write_ocr_dataset
from ingest.sim.plate_augment import AugmentOptions, _glare, augment_plate
from ingest.sim.plates import TWO_LETTER_P_TRAIN, SimPlate, random_plate


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "images").iterdir())}


def test_dataset_format_and_determinism(tmp_path):
    a = write_ocr_dataset(tmp_path / "a", n=6, seed=11, workers=1)
    b = write_ocr_dataset(tmp_path / "b", n=6, seed=11, workers=1)
    c = write_ocr_dataset(tmp_path / "c", n=6, seed=12, workers=1)
    assert a.read_text() == b.read_text() and _digest(a.parent) == _digest(b.parent)
    assert a.read_text() != c.read_text()
    with a.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["image_path", "plate_text"] and len(rows) == 6
    for row in rows:
        assert (a.parent / row["image_path"]).is_file()
        assert is_valid(row["plate_text"])
        assert len(row["plate_text"]) <= PLATE_CONFIG["max_plate_slots"]
        assert set(row["plate_text"]) <= set(PLATE_CONFIG["alphabet"])

    from fast_plate_ocr.inference.config import PlateConfig

    config = PlateConfig.from_yaml(a.parent / "plate_config.yaml")
    assert config.max_plate_slots == PLATE_CONFIG["max_plate_slots"]
    assert config.alphabet == PLATE_CONFIG["alphabet"]


def test_dataset_rejects_empty(tmp_path):
    with pytest.raises(ValueError, match="n >= 1"):
        write_ocr_dataset(tmp_path, n=0, seed=1)


def test_augment_is_seeded_and_looks_like_a_crop():
    plate = random_plate(np.random.default_rng(5), "motorbike")
    one = augment_plate(plate, np.random.default_rng(9))
    two = augment_plate(plate, np.random.default_rng(9))
    assert np.array_equal(one, two)
    shapes = [augment_plate(plate, np.random.default_rng(s)).shape for s in range(12)]
    assert all(len(s) == 3 and s[2] == 3 and s[0] >= 8 for s in shapes)
    assert len({s[:2] for s in shapes}) > 6  # resolution and crop vary
    ratios = [s[1] / s[0] for s in shapes]
    assert 0.9 < float(np.median(ratios)) < 2.2  # still a two-row (motorbike) crop shape


def _edge_to_centre_brightness(options: AugmentOptions) -> float:
    ratios = []
    for s in range(20):
        plate = random_plate(np.random.default_rng(s), "motorbike")
        if plate.colour != PlateColour.WHITE:
            continue
        g = augment_plate(plate, np.random.default_rng(100 + s), options).mean(axis=2)
        h, w = g.shape
        k = max(1, w // 25)
        edge = np.concatenate([g[:, :k].ravel(), g[:, -k:].ravel()]).mean()
        ratios.append(edge / g[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].mean())
    return float(np.median(ratios))


def test_crops_that_cut_into_the_plate_end_on_plate_not_background():
    """``inside_p`` crops end inside the white plate (text at the crop edge, as in many real
    detector crops); ordinary crops show darker surroundings at their left/right edges."""
    inside = _edge_to_centre_brightness(AugmentOptions(inside_p=1.0))
    outside = _edge_to_centre_brightness(AugmentOptions(inside_p=0.0))
    assert inside > outside + 0.15, (inside, outside)


def _median_aspect(options: AugmentOptions) -> float:
    shapes = []
    for s in range(30):
        plate = random_plate(np.random.default_rng(s), "motorbike")
        h, w = augment_plate(plate, np.random.default_rng(200 + s), options).shape[:2]
        shapes.append(h / w)
    return float(np.median(shapes))


def test_row_cut_crops_end_inside_a_row_of_a_two_row_plate():
    """``row_cut_p`` crops cut 8-20 % of the plate's height off its top or bottom (into the top
    row's "59" or the serial's foot, as some real detector boxes do): the crops are flatter."""
    base = AugmentOptions(row_cut_p=0.0, inside_p=0.0, glare_p=0.0)
    cut = replace(base, row_cut_p=1.0)
    assert _median_aspect(cut) < 0.93 * _median_aspect(base)
    one_row = SimPlate("51A12345", "51A-123.45", Layout.ONE_ROW, PlateColour.WHITE, PlateKind.CAR)
    a = augment_plate(one_row, np.random.default_rng(9), base)
    b = augment_plate(one_row, np.random.default_rng(9), replace(base, row_cut_p=1.0))
    assert np.array_equal(a, b)  # one-row crops are never cut this way


def test_glare_is_a_thin_bright_streak():
    surface = np.full((120, 160, 3), 30.0, np.float32)  # all ink
    lit = _glare(surface.copy(), np.random.default_rng(4))
    brightened = lit.mean(axis=2) > 60
    assert 0.02 < brightened.mean() < 0.2  # a streak, not a wash
    assert lit.max() > 130  # at least halfway to white at its middle
    rows_hit = brightened.any(axis=1).sum()
    assert rows_hit < 0.5 * surface.shape[0]  # nearly level


def _two_letter_share(csv_path) -> float:
    with csv_path.open(newline="") as f:
        texts = [r["plate_text"] for r in csv.DictReader(f)]
    # a motorbike plate's fourth character is its series digit, or the second series letter
    moto = [t for t in texts if len(t) in (8, 9) and t[2].isalpha() and not t[3:].isdigit()]
    return len(moto) / len(texts)


def test_two_letter_share_of_a_data_set_follows_the_argument(tmp_path):
    """``two_letter_p`` reaches the plates drawn (``phatnguoi train plates --two-letter-p``): all
    motorbike plates take a two-letter series at 1.0, none at 0.0; the default set keeps its images."""
    none = write_ocr_dataset(tmp_path / "none", n=60, seed=3, workers=1, two_letter_p=0.0)
    every = write_ocr_dataset(tmp_path / "all", n=60, seed=3, workers=1, two_letter_p=1.0)
    assert _two_letter_share(every) > 0.35  # motorbikes are 55 % of the mix
    assert _two_letter_share(none) < _two_letter_share(every) / 3  # only special car series left
    default = write_ocr_dataset(tmp_path / "default", n=6, seed=11, workers=1)
    explicit = write_ocr_dataset(tmp_path / "explicit", n=6, seed=11, workers=1, two_letter_p=TWO_LETTER_P_TRAIN)
    assert default.read_text() == explicit.read_text() and _digest(default.parent) == _digest(explicit.parent)
    with pytest.raises(ValueError, match="two_letter_p between 0 and 1"):
        write_ocr_dataset(tmp_path / "bad", n=1, seed=1, two_letter_p=1.5)


def test_some_two_row_car_plates_are_drawn_squarer():
    """``square_car_p``: two-row car crops come out squarer (real ones 1.24-1.9 wide per unit of
    height, not 2); motorbike plates are drawn exactly as before (no random draw is added)."""
    cars = [p for p in (random_plate(np.random.default_rng(s), "car") for s in range(60))
            if p.layout == Layout.TWO_ROW][:8]
    assert len(cars) >= 5

    def aspect(plate, options, seed):
        h, w = augment_plate(plate, np.random.default_rng(seed), options).shape[:2]
        return w / h

    square = [aspect(p, AugmentOptions(square_car_p=1.0), 40 + i) for i, p in enumerate(cars)]
    usual = [aspect(p, AugmentOptions(square_car_p=0.0), 40 + i) for i, p in enumerate(cars)]
    assert float(np.median(square)) + 0.15 < float(np.median(usual)), (square, usual)
    bike = random_plate(np.random.default_rng(3), "motorbike")
    assert np.array_equal(augment_plate(bike, np.random.default_rng(8), AugmentOptions(square_car_p=1.0)),
                          augment_plate(bike, np.random.default_rng(8), AugmentOptions(square_car_p=0.0)))


def test_square_car_plates_off_draw_nothing():
    """At ``square_car_p`` 0 (the default) a two-row car plate takes no extra random draw, so the
    data sets are those stages 27-29 were trained on; any share above 0 draws one."""
    car = next(p for p in (random_plate(np.random.default_rng(s), "car") for s in range(60))
               if p.layout == Layout.TWO_ROW)
    off, tiny = np.random.default_rng(4), np.random.default_rng(4)
    augment_plate(car, off, AugmentOptions(square_car_p=0.0))
    augment_plate(car, tiny, AugmentOptions(square_car_p=1e-12))
    assert off.bit_generator.state != tiny.bit_generator.state
