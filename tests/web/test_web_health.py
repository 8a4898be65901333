"""The web app's probes: /healthz, /readyz (database reachable or 503), /metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from phatnguoi.web import create_app


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


def test_not_ready_when_the_database_is_unreachable(store, tmp_path) -> None:  # noqa: ANN001
    # a SQLite file inside a folder that does not exist cannot be opened
    engine = create_engine(f"sqlite:///{tmp_path}/missing-dir/x.db")
    app = create_app(session_factory=sessionmaker(engine), evidence_store=store, secret_key="k" * 32)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert "OperationalError" in ready.json()["database"]


def test_metrics_exposition(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "python_info" in response.text or "process_" in response.text
