"""The scene simulator: the project's own camera (``SimulatedCamera``), its ground truth, the vehicle
registry it invents, and the training sets made from it. See docs/simulator.md."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:  # lazy: importing ingest.sim.plates must not pull in the renderer
    if name == "SimulatedCamera":
        from ingest.sim.camera import SimulatedCamera

        return SimulatedCamera
    if name == "SimOptions":
        from ingest.sim.types import SimOptions

        return SimOptions
    raise AttributeError(f"module 'ingest.sim' has no attribute {name!r}")
