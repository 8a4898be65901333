"""The demo's registry feed: the simulator drops each plate's record once; the demo imports each
file once into the vehicle registry."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

from cases.db import upgrade
from cases.models import Vehicle
from ingest.camera import load_camera
from ingest.sim.camera import SimulatedCamera
from phatnguoi.demo_setup import import_registry_inbox
from phatnguoi.settings import load_settings
from phatnguoi.workers import _frames_with_registry, registry_inbox, session_factory

CAMERA = Path(__file__).parents[2] / "ingest" / "cameras" / "sim-intersection-01.yaml"


def test_each_plate_is_dropped_once_and_each_file_imported_once(tmp_path: Path) -> None:
    settings = load_settings(None, env="test", var_dir=tmp_path)
    inbox = registry_inbox(settings)
    sim = SimulatedCamera(load_camera(CAMERA), seed=3, frames=80)

    frames = list(_frames_with_registry(sim, inbox, every=10))

    assert len(frames) == 80
    files = sorted(inbox.glob("*.csv"))
    assert len(files) >= 2, "records arrive in batches while the scene runs"
    plates = [row["plate_text"] for path in files for row in csv.DictReader(path.open(encoding="utf-8"))]
    assert len(plates) == len(set(plates)) == len(sim.plates)
    assert not list(inbox.glob(".*.tmp")), "no half-written file is left behind"

    assert settings.database_url is not None
    upgrade(settings.database_url)
    assert import_registry_inbox(settings) == len(files)
    assert import_registry_inbox(settings) == 0  # imported files moved out of the inbox
    with session_factory(settings)() as session:
        assert session.scalar(select(func.count()).select_from(Vehicle)) == len(plates)
