"""The cases stage: a record's bytes become one case; a replay none; garbage a clear error."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from builders import violation_event
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from cases.consumer import BadViolationMessage, make_case_stage
from cases.models import Case


def test_stage_inserts_once_and_sends_nothing(sqlite_url):
    from cases.db import make_engine

    engine = make_engine(sqlite_url)
    factory = sessionmaker(engine)
    process = make_case_stage(factory)
    record = SimpleNamespace(value=violation_event().model_dump_json().encode())
    assert process(record) == [] and process(record) == []
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    engine.dispose()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"not json", "invalid JSON"),
        (
            violation_event().model_copy(update={"schema_version": 2}).model_dump_json().encode(),
            "schema_version",
        ),
    ],
)
def test_bad_records_raise_for_the_dead_letter_topic(sqlite_url, value, message):
    from cases.db import make_engine

    process = make_case_stage(sessionmaker(make_engine(sqlite_url)))
    with pytest.raises(BadViolationMessage, match=message):
        process(SimpleNamespace(value=value))


def test_batched_stage_commits_once_per_batch_and_a_bad_record_costs_only_itself(sqlite_url):
    from cases.consumer import BatchedCaseStage
    from cases.db import make_engine

    engine = make_engine(sqlite_url)
    factory = sessionmaker(engine)
    stage = BatchedCaseStage(factory)
    good = [
        SimpleNamespace(value=violation_event(track=f"b-{i}", plate=f"51A1234{i}").model_dump_json().encode())
        for i in range(3)
    ]
    assert stage.process(good[0]) == []
    with pytest.raises(BadViolationMessage):
        stage.process(SimpleNamespace(value=b"not json"))
    too_long = violation_event(track="b-x").model_copy(update={"camera_id": "c" * 65})
    with pytest.raises(ValueError, match="camera_id"):
        stage.process(SimpleNamespace(value=too_long.model_dump_json().encode()))
    for record in good[1:]:
        stage.process(record)
    stage.on_batch_durable(good)
    for record in good:  # a replay of the batch
        stage.process(record)
    stage.on_batch_durable(good)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 3
    engine.dispose()
