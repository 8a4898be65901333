"""``phatnguoi cases``: the deadline job and the rotation of the personal-data key."""

from __future__ import annotations

import click

from phatnguoi.commands.db import _redact, database_option, resolve_url


@click.group(name="cases", help="Back office: deadline job, PII key rotation.")
def group() -> None:
    pass


@group.command("deadlines")
@database_option
def deadlines_cmd(database_url: str | None) -> None:
    """Raise the flags of every deadline that passed (10-day notice, 20-day warning, payment,
    1-year expiry); never changes a case's status. Safe to run as often as you like."""
    from cases.db import make_engine, session_factory
    from cases.deadlines import run_deadlines
    from phatnguoi.casework import deadline_policy
    from phatnguoi.settings import load_settings

    url = resolve_url(database_url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            result = run_deadlines(session, policy=deadline_policy(load_settings()))
            session.commit()
    finally:
        engine.dispose()
    raised = ", ".join(f"{kind.value} {n}" for kind, n in result.raised.items())
    click.echo(f"deadlines at {_redact(url)}: raised {raised}; cleared {result.cleared}; {result.seconds:.2f} s")


@group.command("rotate-pii")
@database_option
def rotate_pii_cmd(database_url: str | None) -> None:
    """Re-encrypt all personal data under security.pii_key (old keys in cases.pii_old_keys)."""
    from cases.db import make_engine, session_factory
    from cases.pii import PiiCipher, PiiKeyError
    from cases.rekey import reencrypt
    from phatnguoi.casework import pii_keys
    from phatnguoi.settings import load_settings

    engine = make_engine(resolve_url(database_url))
    try:
        with session_factory(engine)() as session:
            result = reencrypt(session, PiiCipher(pii_keys(load_settings())))
    except PiiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"re-encrypted {result.values} values in {result.rows} rows under the current key")
