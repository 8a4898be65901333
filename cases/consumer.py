"""The ``cases`` stage of the pipeline: one ``violations.detected`` record in, one idempotent case
insert, nothing sent on. Plugs into ``phatnguoi.streams`` (``process(record)``).

``make_case_stage`` commits every record on its own; ``BatchedCaseStage`` ingests a poll batch
set-based in one transaction in ``on_batch_durable`` (before the offsets are committed). Either
way a crash before the commit leaves the offsets uncommitted, and the replay is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from cases.bulk_intake import ingest_batch
from cases.intake import IntakePolicy, check_event, ingest_violation
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


class BatchedCaseStage:
    """``process`` and ``on_batch_durable`` for ``phatnguoi.streams.Stage``: one transaction per
    poll batch, written set-based (``cases.bulk_intake``). ``process`` decodes and validates each
    record (a bad one raises: it goes to the dead-letter topic, the others stay in the batch);
    ``on_batch_durable`` ingests and commits the batch before the offsets are committed. A failing
    write raises there, so nothing is committed and the batch is read again after a restart."""

    def __init__(self, session_factory: sessionmaker[Session], *, policy: IntakePolicy | None = None) -> None:
        self._factory = session_factory
        self._policy = policy
        self._pending: list[ViolationEvent] = []

    def process(self, record: Any) -> list[Any]:
        event = decode_violation(record.value)
        check_event(event)
        self._pending.append(event)
        return []

    def on_batch_durable(self, records: Sequence[Any]) -> None:
        events, self._pending = self._pending, []
        if not events:
            return
        with self._factory() as session:
            ingest_batch(session, events, policy=self._policy)
            session.commit()
