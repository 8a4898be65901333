"""Web-test fixtures: a migrated SQLite file, a real file evidence store, the app, an officer."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))

from cases.accounts import create_user  # noqa: E402
from cases.db import make_engine, session_factory, upgrade  # noqa: E402
from detection.evidence_store import FileEvidenceStore  # noqa: E402
from phatnguoi.web import create_app  # noqa: E402

SECRET = "web-test-secret-key-0123456789"
OFFICER_PASSWORD = "correct horse battery"


@pytest.fixture
def web_db(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> FileEvidenceStore:
    return FileEvidenceStore(tmp_path / "evidence")


@pytest.fixture
def client(web_db: sessionmaker[Session], store: FileEvidenceStore) -> Iterator[TestClient]:
    app = create_app(session_factory=web_db, evidence_store=store, secret_key=SECRET)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def secret_key() -> str:
    return SECRET


@pytest.fixture
def officer_password() -> str:
    return OFFICER_PASSWORD


@pytest.fixture
def officer(web_db: sessionmaker[Session]) -> str:
    with web_db() as session:
        create_user(session, username="officer1", role="officer", password=OFFICER_PASSWORD)
        session.commit()
    return "officer1"
