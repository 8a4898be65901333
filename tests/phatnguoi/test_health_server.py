"""phatnguoi.health: the probe/metrics server of non-web workers, over real HTTP; metrics hook."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from phatnguoi.health import serve_health
from phatnguoi.metrics import record_hook
from phatnguoi.settings import load_settings


def _get(port: int, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_probes_follow_readiness() -> None:
    state = {"ready": False}
    server = serve_health(0, lambda: state["ready"], host="127.0.0.1")
    try:
        assert _get(server.port, "/healthz")[0] == 200
        status, _, body = _get(server.port, "/readyz")
        assert (status, json.loads(body)["status"]) == (503, "unavailable")
        state["ready"] = True
        status, _, body = _get(server.port, "/readyz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert _get(server.port, "/nope")[0] == 404
    finally:
        server.close()


def test_a_raising_check_is_not_ready() -> None:
    def broken() -> bool:
        raise ConnectionError("db down")

    server = serve_health(0, broken, host="127.0.0.1")
    try:
        status, _, body = _get(server.port, "/readyz")
        assert status == 503
        assert "ConnectionError" in json.loads(body)["reason"]
    finally:
        server.close()


def test_metrics_include_stage_hook_counts() -> None:
    hook = record_hook("h7-test-stage")
    record = SimpleNamespace(timestamp=int(time.time() * 1000) - 2000)
    hook(record, 0.03, 1, None)
    hook(record, 0.01, 1, ValueError("bad frame"))
    assert REGISTRY.get_sample_value("phatnguoi_stage_records_total",
                                     {"stage": "h7-test-stage", "outcome": "ok"}) == 1
    assert REGISTRY.get_sample_value("phatnguoi_stage_records_total",
                                     {"stage": "h7-test-stage", "outcome": "error"}) == 1
    age_sum = REGISTRY.get_sample_value("phatnguoi_stage_record_age_seconds_sum", {"stage": "h7-test-stage"})
    assert 3.5 < age_sum < 60  # two records about 2 s old
    server = serve_health(0, lambda: True, host="127.0.0.1")
    try:
        status, content_type, body = _get(server.port, "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert 'phatnguoi_stage_outputs_total{stage="h7-test-stage"} 2.0' in body
    finally:
        server.close()


def test_bad_port_and_setting() -> None:
    with pytest.raises(ValueError, match="expected 0..65535, got 70000"):
        serve_health(70000, lambda: True)
    assert load_settings(env="test").health_port is None
    assert load_settings(env="test", health_port=9100).health_port == 9100


def test_database_readiness(tmp_path) -> None:  # noqa: ANN001
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from phatnguoi.health import database_ready

    assert database_ready(sessionmaker(create_engine(f"sqlite:///{tmp_path}/ok.db")))() is True
    broken = database_ready(sessionmaker(create_engine(f"sqlite:///{tmp_path}/no/such/dir.db")))
    server = serve_health(0, broken, host="127.0.0.1")
    try:
        status, _, body = _get(server.port, "/readyz")
        assert status == 503 and "OperationalError" in body
    finally:
        server.close()
