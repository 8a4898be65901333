"""Units and cameras in the database, from the camera YAML files (``ingest.camera``).

Call ``register_cameras`` at start-up so every case gets its place and its detecting unit; a
camera the database has never seen still gets a placeholder row at intake (its id as the name).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Camera, Unit

if TYPE_CHECKING:
    from ingest.camera import CameraConfig


def ensure_unit(session: Session, *, code: str, name: str, address: str = "", phone: str = "") -> Unit:
    """The unit with ``code``, created or updated with the given details."""
    if not code:
        raise ValueError("expected a unit code, got an empty one")
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        unit = Unit(code=code, name=name or code, address=address, phone=phone)
        session.add(unit)
    else:
        unit.name, unit.address, unit.phone = name or unit.name, address or unit.address, phone or unit.phone
    session.flush()
    return unit


def register_camera(session: Session, config: CameraConfig) -> Camera:
    """Insert or update one camera (and its unit) from its configuration."""
    unit = ensure_unit(
        session,
        code=config.unit.code,
        name=config.unit.name,
        address=config.unit.address,
        phone=config.unit.phone,
    )
    camera = session.get(Camera, config.id)
    if camera is None:
        camera = Camera(id=config.id, name=config.name, address=config.address, unit_id=unit.id)
        session.add(camera)
    else:
        camera.name, camera.address, camera.unit_id = config.name, config.address, unit.id
    session.flush()
    return camera


def register_cameras(session: Session, configs: Iterable[CameraConfig]) -> list[Camera]:
    return [register_camera(session, c) for c in configs]
