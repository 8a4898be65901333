"""The shared integration fixtures themselves: a private PostgreSQL database, the C CRC32C."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration


def test_postgres_url_is_a_private_empty_database(postgres_url):
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        name = conn.execute(sa.text("select current_database()")).scalar_one()
        tables = conn.execute(
            sa.text("select count(*) from pg_tables where schemaname = 'public'")
        ).scalar_one()
        conn.execute(sa.text("create table fixture_probe (id int primary key)"))
        conn.execute(sa.text("insert into fixture_probe values (1)"))
    engine.dispose()
    assert name.startswith("phatnguoi_test_")
    assert tables == 0


def test_kafka_python_uses_the_c_crc32c():
    # Without the crc32c extra, record CRCs are computed in pure Python (~20x slower producing).
    import crc32c
    from kafka.record import util

    assert util._crc32c is crc32c.crc32c
