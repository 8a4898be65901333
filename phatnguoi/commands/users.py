"""``phatnguoi users``: user accounts. No account ever gets a default password: give one or get a
generated one printed once."""

from __future__ import annotations

import click

from cases.types import Role
from phatnguoi.commands.db import database_option, resolve_url


@click.group(name="users", help="User accounts.")
def group() -> None:
    pass


@group.command("add")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--unit", "unit_code", default=None, help="Unit code (created if new), e.g. the cameras' unit.")
@click.option("--password", default=None, help="At least 12 characters; omitted: generated and printed.")
@database_option
def add_cmd(
    username: str, role: str, unit_code: str | None, password: str | None, database_url: str | None
) -> None:
    """Create an account."""
    from cases.accounts import AccountError, create_user
    from cases.db import make_engine, session_factory

    engine = make_engine(resolve_url(database_url))
    try:
        with session_factory(engine)() as session:
            _user, secret = create_user(
                session, username=username, role=role, unit_code=unit_code, password=password
            )
            session.commit()
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"created {role} {username!r}" + (f" in unit {unit_code}" if unit_code else ""))
    if password is None:
        click.echo(f"password: {secret}")
