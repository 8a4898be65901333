"""``phatnguoi db``: migrations and the vehicle-registry import."""

from __future__ import annotations

from pathlib import Path

import click


def resolve_url(database_url: str | None) -> str:
    """The given URL, else the settings' (``PHATNGUOI_DATABASE_URL`` or the SQLite default)."""
    if database_url:
        return database_url
    from phatnguoi.settings import load_settings

    url = load_settings().database_url
    assert url is not None  # the settings fill in the SQLite default
    return url


def resolve_pii_key(pii_key: str | None) -> str:
    if pii_key:
        return pii_key
    from phatnguoi.settings import load_settings

    secret = load_settings().security.pii_key
    if secret is None:
        raise click.UsageError("no PII key: set PHATNGUOI_SECURITY__PII_KEY or pass --pii-key")
    return secret.get_secret_value()


database_option = click.option(
    "--database-url",
    envvar="PHATNGUOI_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (default: PHATNGUOI_DATABASE_URL, else the settings' SQLite file).",
)


@click.group(name="db", help="Database: migrations, registry import.")
def group() -> None:
    pass


@group.command("upgrade")
@database_option
@click.option("--revision", default="head", show_default=True)
def upgrade_cmd(database_url: str | None, revision: str) -> None:
    """Run the Alembic migrations up to REVISION."""
    from cases.db import upgrade

    url = resolve_url(database_url)
    upgrade(url, revision=revision)
    click.echo(f"database at {_redact(url)} is at {revision}")


@group.command("import-registry")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@database_option
@click.option("--pii-key", envvar="PHATNGUOI_SECURITY__PII_KEY", default=None, help="Key for owners' data.")
def import_registry_cmd(csv_path: Path, database_url: str | None, pii_key: str | None) -> None:
    """Import a vehicle-registry CSV (plate_text, owner_name, address, vehicle_type, ...)."""
    from cases.db import make_engine, session_factory
    from cases.registry import RegistryImportError, import_registry_csv

    engine = make_engine(resolve_url(database_url))
    try:
        with session_factory(engine)() as session:
            result = import_registry_csv(session, csv_path, pii_key=resolve_pii_key(pii_key))
            session.commit()
    except RegistryImportError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"registry: {result.inserted} inserted, {result.updated} updated")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
