"""Alembic migrations of the back office (run by ``cases.db.upgrade``)."""
