"""Database fixtures for the back-office tests (cases, notices, web): SQLite files for the fast
tier, the real PostgreSQL (a fresh schema, migrated once per test session; each test rolled back)
for integration. Each conftest imports them with ``from db_fixtures import *``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.db import drop_schema, make_engine, session_factory, upgrade


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    upgrade(url)
    return url


@pytest.fixture
def sqlite_session(sqlite_url: str) -> Iterator[Session]:
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture(scope="session")
def pg_schema_engine(postgres_url: str) -> Iterator[tuple[str, str, Engine]]:
    schema = f"h5_{uuid.uuid4().hex[:10]}"
    upgrade(postgres_url, schema=schema)
    engine = make_engine(postgres_url, schema=schema)
    yield postgres_url, schema, engine
    engine.dispose()
    drop_schema(postgres_url, schema)


@pytest.fixture
def pg_session(pg_schema_engine: tuple[str, str, Engine]) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test; the code under
    test may commit (commits become savepoint releases)."""
    _, _, engine = pg_schema_engine
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()


@pytest.fixture
def pg_factory(pg_schema_engine: tuple[str, str, Engine]) -> Iterator[sessionmaker[Session]]:
    """A session factory for code that opens its own sessions and commits (workers): every
    session shares one connection inside an outer transaction rolled back after the test."""
    _, _, engine = pg_schema_engine
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    finally:
        outer.rollback()
        conn.close()
