"""Shared fixtures for integration tests: the real broker and the real PostgreSQL.

- ``kafka_bootstrap``: one embedded Tansu broker per test session (started on first use), or the
  external broker named by ``PHATNGUOI_TEST_KAFKA=host:port``.
- ``postgres_url``: a fresh database on the PostgreSQL server (``PHATNGUOI_TEST_POSTGRES``, default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), created for the session and dropped after.
  An unreachable server fails the tests that need it: CI starts PostgreSQL.
- ``fresh_postgres_url``: the same, for one test only (for a test that migrates the public schema).
- ``unique_topic``: ``unique_topic("frames")`` gives a topic name no other test uses.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    external = os.environ.get("PHATNGUOI_TEST_KAFKA")
    if external:
        yield external
        return
    from phatnguoi.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker.bootstrap


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> Callable[..., str]:
    """Topic names unique to this test: ``unique_topic("frames") -> "frames.test_x.1a2b3c4d"``."""
    test = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:80]

    def make(prefix: str = "t") -> str:
        return f"{prefix}.{test}.{uuid.uuid4().hex[:8]}"

    return make


@contextmanager
def _private_database() -> Iterator[str]:
    """A new, empty database on the test server; dropped on exit."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(os.environ.get("PHATNGUOI_TEST_POSTGRES", DEFAULT_POSTGRES))
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"phatnguoi_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {server.render_as_string(hide_password=True)}: {exc}. "
            "Start it (CI does) or point PHATNGUOI_TEST_POSTGRES at one.",
            pytrace=False,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One private database for the whole session (tests use their own schemas or roll back)."""
    with _private_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A private database for one test that migrates the public schema itself."""
    with _private_database() as url:
        yield url


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001, ARG001
    """Show the figures tests record with ``record_property`` (e.g. end-to-end precision/recall)."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
               if getattr(r, "when", "") == "call" and r.user_properties]
    if reports:
        terminalreporter.section("measured")
        for report in reports:
            figures = ", ".join(f"{k}={v}" for k, v in report.user_properties)
            terminalreporter.write_line(f"{report.nodeid}: {figures}")
