"""``phatnguoi worker NAME``: run one pipeline worker until SIGTERM / Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from phatnguoi.workers import WORKERS


@click.command(name="worker")
@click.argument("name", type=click.Choice(sorted(WORKERS)))
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML or TOML settings file (else PHATNGUOI_CONFIG, else defaults + environment).")
def group(name: str, config: Path | None) -> None:
    """Run the NAME worker (ingest, detection, cases, notices, web) until stopped."""
    from phatnguoi.logs import setup_logging
    from phatnguoi.settings import load_settings

    settings = load_settings(config)
    setup_logging(worker=name)
    stop = threading.Event()
    if settings.health_port is not None and name != "web":  # the web app serves its own probes
        from phatnguoi.health import database_ready, serve_health
        from phatnguoi.workers import session_factory

        uses_db = name in ("cases", "notices")
        serve_health(settings.health_port,
                     database_ready(session_factory(settings)) if uses_db else (lambda: not stop.is_set()))

    def request_stop(signum: int, _frame: object) -> None:
        logging.getLogger("phatnguoi.worker").info("%s: signal %d, stopping", name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    WORKERS[name](settings, stop)
