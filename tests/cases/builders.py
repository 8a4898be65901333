"""Builders that keep the back-office tests short: a valid ViolationEvent, a registry CSV, a
migrated database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from detection.types import (
    EvidenceRef,
    Measurement,
    PlateCandidate,
    Rule,
    SignalPhase,
    ViolationEvent,
    violation_id,
)

PII_KEY = Fernet.generate_key().decode()
WHEN = datetime(2026, 3, 14, 1, 5, tzinfo=UTC)  # 08:05, 14/03/2026 in Vietnam


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def violation_event(
    *,
    camera_id: str = "cam-01",
    track: str = "100-7",
    rule: Rule = Rule.RED_LIGHT,
    plate: str | None = "51A12345",
    vehicle_class: str = "car",
    occurred_at: datetime = WHEN,
    roles: tuple[str, ...] = ("before", "at", "after", "plate"),
    evidence: dict[str, str] | None = None,
    **measurement: Any,
) -> ViolationEvent:
    """A valid event; ``evidence`` maps role -> sha256 when the bytes are really stored."""
    vid = violation_id(camera_id, track, rule)
    shas = evidence or {role: sha(f"{vid}-{role}") for role in roles}
    if rule == Rule.RED_LIGHT and not measurement:
        measurement = {"signal_phase": SignalPhase.RED, "seconds_since_red": 2.5}
    candidates = (
        []
        if plate is None
        else [
            PlateCandidate(
                text=plate,
                confidence=0.93,
                votes=5,
                frame_sequence=101,
                valid=True,
                layout="two-row" if vehicle_class == "motorbike" else "one-row",
            ),
        ]
    )
    return ViolationEvent(
        violation_id=vid,
        camera_id=camera_id,
        rule=rule,
        rule_version="1",
        occurred_at=occurred_at,
        frame_sequence=101,
        track_id=7,
        vehicle_class=vehicle_class,
        plate_candidates=candidates,
        plate_text=plate,
        plate_confidence=0.93 if plate else 0.0,
        needs_manual_plate=plate is None,
        measurement=Measurement(**measurement),
        evidence=[EvidenceRef(role=r, sha256=s, key=s, frame_sequence=100) for r, s in shas.items()],
        model_versions={"detector": "test", "plate_reader": "test"},
    )


REGISTRY_HEADER = "plate_text,owner_name,address,id_number,phone,vehicle_type,colour,brand\n"


def registry_csv(path: Path, rows: list[tuple[str, ...]] | None = None) -> Path:
    rows = rows or [
        (
            "51A-123.45",
            "Nguyễn Văn An",
            "12 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh",
            "079123456789",
            "0901234567",
            "car",
            "white",
            "Toyota",
        ),
        (
            "59-X1 234.56",
            "Trần Thị Bích",
            "45 Nguyễn Huệ, Phường Bến Thành, TP. Hồ Chí Minh",
            "079987654321",
            "0912345678",
            "motorbike",
            "white",
            "Honda",
        ),
    ]
    path.write_text(
        REGISTRY_HEADER + "".join(",".join(f'"{v}"' for v in row) + "\n" for row in rows), encoding="utf-8"
    )
    return path
