"""The Alembic migrations build exactly the schema the models describe (like ``alembic check``),
on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from cases.db import make_engine, upgrade
from cases.models import Base


def _diff(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_sqlite_migration_matches_models(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        assert _diff(engine) == []
        assert set(inspect(engine).get_table_names()) >= {
            "units",
            "users",
            "cameras",
            "cases",
            "evidence",
            "vehicles",
            "owners",
            "notices",
            "audit_log",
            "outbox",
        }
    finally:
        engine.dispose()


@pytest.mark.integration
def test_postgres_migration_matches_models(pg_schema_engine):
    _, _, engine = pg_schema_engine
    assert _diff(engine) == []


def test_upgrade_is_repeatable(sqlite_url):
    upgrade(sqlite_url)  # already at head: a no-op, not an error


def test_bad_urls_are_refused():
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        make_engine("mysql://x@y/z")
    with pytest.raises(ValueError, match="schema"):
        make_engine("postgresql+psycopg://postgres@127.0.0.1/test", schema="Robert'); DROP")
