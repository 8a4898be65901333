"""The ``cases`` stage of the pipeline: one ``violations.detected`` record in, one idempotent case
insert committed, nothing sent on. Plugs into ``phatnguoi.streams`` (``process(record)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from cases.intake import IntakePolicy, ingest_violation
from detection.types import VIOLATION_SCHEMA_VERSION, ViolationEvent


class BadViolationMessage(ValueError):
    """The record is not a valid ``violations.detected`` v1 document (it goes to the DLQ)."""


def decode_violation(value: bytes) -> ViolationEvent:
    try:
        event = ViolationEvent.model_validate_json(value)
    except ValidationError as exc:
        raise BadViolationMessage(
            f"expected a violations.detected document, got invalid JSON: {exc}"
        ) from exc
    if event.schema_version != VIOLATION_SCHEMA_VERSION:
        expected = VIOLATION_SCHEMA_VERSION
        raise BadViolationMessage(
            f"expected violations.detected schema_version {expected}, got {event.schema_version}"
        )
    return event


def make_case_stage(
    session_factory: sessionmaker[Session], *, policy: IntakePolicy | None = None
) -> Callable[[Any], list[Any]]:
    """``process(record) -> []``: decode, insert the case (or nothing on a replay), commit.
    The offset is committed by the loop only after this returns, so the case is durable first."""

    def process(record: Any) -> list[Any]:
        event = decode_violation(record.value)
        with session_factory() as session:
            ingest_violation(session, event, policy=policy)
            session.commit()
        return []

    return process
