"""``phatnguoi notices``: the daily print batch for the post."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from phatnguoi.commands.db import database_option, resolve_pii_key, resolve_url


@click.group(name="notices", help="Notices: the daily print batch for the post.")
def group() -> None:
    pass


@group.command("batch")
@click.option("--unit", "unit_code", required=True, help="Code of the unit whose post goes out.")
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD (VN time).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/print"))
@database_option
@click.option("--pii-key", envvar="PHATNGUOI_SECURITY__PII_KEY", default=None, help="Key for owners' data.")
def batch_cmd(unit_code: str, day: object, out_dir: Path, database_url: str | None, pii_key: str | None) -> None:
    """One merged PDF and its manifest (CSV + JSON) of a unit's postal notices on one day."""
    from cases.db import make_engine, session_factory
    from detection.evidence_backends import make_evidence_store
    from notices.batch import BatchError, build_batch, postal_deliveries
    from phatnguoi.settings import load_settings

    when: date = day.date()  # type: ignore[attr-defined]
    store = make_evidence_store(load_settings().evidence)
    engine = make_engine(resolve_url(database_url))
    try:
        with session_factory(engine)() as session:
            try:
                total = len(postal_deliveries(session, unit_code=unit_code, day=when))
                with click.progressbar(length=total, label=f"{unit_code} {when.isoformat()}") as bar:
                    batch = build_batch(
                        session,
                        store,
                        unit_code=unit_code,
                        day=when,
                        out_dir=out_dir,
                        pii_key=resolve_pii_key(pii_key),
                        progress=bar.update,
                    )
            except BatchError as exc:
                raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"{len(batch.rows)} notices, {batch.pages} pages")
    for path in (batch.pdf, batch.manifest_csv, batch.manifest_json):
        click.echo(f"  {path}")
