"""Engines, sessions and migrations.

``upgrade(url)`` runs the Alembic migrations shipped in ``cases/migrations`` programmatically (no
alembic.ini needed), for a SQLite file or a PostgreSQL URL. ``schema`` puts everything (the
alembic version table included) in one PostgreSQL schema: the tests use a schema per run.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def make_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL and a busy timeout (several demo
    processes share one file); PostgreSQL with ``schema`` gets that schema as its search path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise ValueError(f"expected no schema for SQLite, got {schema!r}")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # pysqlite's own transaction handling breaks SAVEPOINT (a RELEASE would commit the
            # outer transaction): take it over and emit BEGIN ourselves (SQLAlchemy's recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # IMMEDIATE: take the write lock up front, so two processes never deadlock upgrading
            # a read to a write (the busy timeout then simply queues them).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"expected a sqlite or postgresql URL, got {parsed.render_as_string()!r}")
    connect_args = {}
    if schema is not None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"expected a lower-case schema name, got {schema!r}")
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the web pages read them)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, *, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (and ``schema``) up to ``revision``; creates the schema."""
    engine = make_engine(url, schema=schema)
    try:
        with engine.begin() as conn:
            if schema is not None:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def drop_schema(url: str, schema: str) -> None:
    """Drop a PostgreSQL schema and everything in it (test clean-up)."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"expected a lower-case schema name, got {schema!r}")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
