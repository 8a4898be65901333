"""The invented vehicle registry: an entry for every plate, deterministic, well-formed, and it
round-trips through CSV and JSON."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cases.plates import is_valid
from ingest.camera import load_camera
from ingest.sim.camera import SimulatedCamera
from ingest.sim.plates import random_plate
from ingest.sim.registry import load_registry, province_of, registry_entry, write_registry
from ingest.sim.scenes import CAMERAS_DIR
from ingest.sim.types import SimOptions

VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.I)


@pytest.fixture(scope="module")
def sim() -> SimulatedCamera:
    cam = SimulatedCamera(
        load_camera(CAMERAS_DIR / "sim-intersection-02.yaml"),
        seed=9,
        options=SimOptions(warmup_s=20),
        frames=10,
    )
    for _ in cam:
        pass
    return cam


def test_every_plate_in_the_scene_has_an_entry(sim: SimulatedCamera) -> None:
    entries = {e.plate_text: e for e in sim.registry()}
    assert len(entries) == len(sim.plates) > 10
    for text, (plate, cls, colour) in sim.plates.items():
        e = entries[text]
        assert is_valid(e.plate_text) and e.plate_printed == plate.printed
        assert e.vehicle_class == cls.value and e.colour == colour and e.plate_colour == plate.colour.value


def test_entries_are_well_formed(sim: SimulatedCamera) -> None:
    names = set()
    for e in sim.registry():
        if e.owner_kind == "individual":
            assert re.fullmatch(r"\d{12}", e.id_number), e.id_number
            assert len(e.owner_name.split()) >= 3
            names.add(e.owner_name)
        else:
            assert re.fullmatch(r"\d{10}", e.id_number), e.id_number
        assert re.fullmatch(r"0\d{9}", e.phone), e.phone
        assert e.province in e.address
    assert any(VIETNAMESE.search(n) for n in names), "names carry Vietnamese diacritics"


def test_entry_is_a_function_of_seed_and_plate() -> None:
    rng = np.random.default_rng(0)
    plate = random_plate(rng, "car")
    a = registry_entry(plate, seed=1, vehicle_class="car", colour="Trắng")
    assert a == registry_entry(plate, seed=1, vehicle_class="car", colour="Trắng")
    others = {registry_entry(plate, seed=s, vehicle_class="car").owner_name for s in range(2, 12)}
    assert len(others) > 1


def test_address_follows_the_plate_province() -> None:
    assert province_of("51A12345") == "TP. Hồ Chí Minh"
    assert province_of("29A12345") == "TP. Hà Nội"
    rng = np.random.default_rng(1)
    seen = 0
    for _ in range(200):
        plate = random_plate(rng, "motorbike")
        e = registry_entry(plate, seed=3, vehicle_class="motorbike")
        assert e.province in (province_of(plate.text), "TP. Hồ Chí Minh")
        seen += e.province == province_of(plate.text)
    assert seen > 120


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_registry_round_trips(sim: SimulatedCamera, tmp_path: Path, suffix: str) -> None:
    entries = sim.registry()
    path = write_registry(entries, tmp_path / f"registry{suffix}")
    loaded = load_registry(path)
    assert loaded == {e.plate_text: e for e in entries}


def test_load_registry_names_the_bad_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("plate_text,owner_name\n51A12345,Nguyễn Văn A\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.csv: row 1: expected fields"):
        load_registry(bad)
    with pytest.raises(ValueError, match="cannot read registry"):
        load_registry(tmp_path / "missing.csv")
