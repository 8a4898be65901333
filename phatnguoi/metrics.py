"""Prometheus metrics of the pipeline stages, in the default ``prometheus_client`` registry (what
:mod:`phatnguoi.health` and the web app's ``/metrics`` serve). Names are what
``deploy/grafana/dashboards/pipeline.json`` and ``deploy/prometheus/alerts.yml`` query.

``record_hook(stage)`` is a :class:`phatnguoi.streams.Stage` ``on_record`` hook:
``Stage(..., on_record=record_hook("detection"))``.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram

RECORDS = Counter("phatnguoi_stage_records_total", "Records a stage handled, by outcome (ok, error).",
                  ["stage", "outcome"])
OUTPUTS = Counter("phatnguoi_stage_outputs_total", "Messages a stage produced (dead letters included).",
                  ["stage"])
PROCESS_SECONDS = Histogram(
    "phatnguoi_stage_process_seconds", "Time to process one record in a stage.", ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECORD_AGE_SECONDS = Histogram(
    "phatnguoi_stage_record_age_seconds",
    "Age of a record (now minus its Kafka timestamp) when a stage finished it: the latency from "
    "the producer to this stage.", ["stage"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)


def record_hook(stage: str):  # noqa: ANN201 - a phatnguoi.streams.RecordHook
    """An ``on_record(record, seconds, n_outputs, error)`` hook that updates the metrics above."""
    records_ok = RECORDS.labels(stage, "ok")
    records_error = RECORDS.labels(stage, "error")
    outputs = OUTPUTS.labels(stage)
    seconds_hist = PROCESS_SECONDS.labels(stage)
    age_hist = RECORD_AGE_SECONDS.labels(stage)

    def hook(record: Any, seconds: float, n_outputs: int, error: BaseException | None) -> None:
        (records_error if error is not None else records_ok).inc()
        outputs.inc(n_outputs)
        seconds_hist.observe(seconds)
        timestamp_ms = getattr(record, "timestamp", None)
        if isinstance(timestamp_ms, int) and timestamp_ms > 0:
            age_hist.observe(max(0.0, time.time() - timestamp_ms / 1000))

    return hook
