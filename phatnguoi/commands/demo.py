"""``phatnguoi demo``: the whole pipeline on one machine, on the embedded defaults.

The table of contents of the service: broker, topics, database, demo accounts, then one process
per worker under one supervisor. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import click

from phatnguoi.supervisor import Supervisor, WorkerDied, WorkerSpec

# Stopped first to last: the source first, so the stages after it can drain what is in flight.
PIPELINE = ("ingest", "detection", "cases", "notices", "web")


@click.command(name="demo")
@click.option("--kafka", "kafka", metavar="HOST:PORT", default=None,
              help="Use this Kafka cluster instead of starting the embedded broker.")
@click.option("--cameras", type=click.IntRange(1, 64), default=None, help="Simulated cameras (default 2).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Web port (default 8000).")
@click.option("--for", "duration", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Run unattended for SECONDS, then stop.")
@click.option("--report", is_flag=True, help="At the end, print one JSON line of counts.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML or TOML settings file.")
def group(kafka: str | None, cameras: int | None, port: int | None, duration: float | None, report: bool,
          config: Path | None) -> None:
    """Run broker, simulated cameras, detection, cases, notices and the web UI together."""
    from phatnguoi import demo_setup
    from phatnguoi.broker import EmbeddedBroker, ensure_topics
    from phatnguoi.settings import load_settings

    overrides: dict = {}
    if cameras is not None:
        overrides["ingest"] = {"simulated_cameras": cameras}
    settings = load_settings(config, **overrides)
    if port is not None:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update={"port": port})})
    say = (lambda msg: click.echo(msg, err=True)) if report else click.echo

    with ExitStack() as stack:
        bootstrap = kafka or settings.kafka.bootstrap
        watch: dict[str, int] = {}
        if bootstrap is None:
            say("starting the embedded Kafka-protocol broker (Tansu) ...")
            broker = stack.enter_context(EmbeddedBroker())
            bootstrap = broker.bootstrap
            if broker.process is not None:
                watch["broker"] = broker.process.pid
        say(f"broker at {bootstrap}; creating topics")
        ensure_topics(bootstrap, settings.topics_with_partitions(), dlq_suffix=settings.kafka.dlq_suffix)

        say(f"database {settings.database_url}: running migrations")
        login = demo_setup.prepare(settings)

        env = {**os.environ, **demo_setup.worker_env(settings, bootstrap)}
        supervisor = Supervisor([WorkerSpec(name) for name in PIPELINE], log_dir=Path(settings.var_dir) / "logs",
                                base_env=env, watch=watch)
        supervisor.start()
        stack.callback(supervisor.stop)  # whatever happens below, no worker outlives the demo
        url = f"http://{settings.web.host}:{settings.web.port}"
        say("")
        say(f"  police review : {url}/police   (user {login.username!r}, password {login.password!r})")
        say(f"  supervisor    : user {login.supervisor!r}, password {login.supervisor_password!r}")
        say(f"  public lookup : {url}/lookup")
        say(f"  operator      : {url}/operator   (user {login.operator!r}, password {login.operator_password!r})")
        say(f"  admin         : {url}/admin/users   (user {login.admin!r}, password {login.admin_password!r})")
        say(f"  case desk     : {url}/desk/due  (officer or supervisor)")
        say(f"  worker logs   : {supervisor.log_dir}/")
        say("  Ctrl-C stops everything.\n")

        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        started = time.monotonic()
        failure: str | None = None
        try:
            while not stop.wait(1.0):
                supervisor.check()
                demo_setup.import_registry_inbox(settings)
                if duration is not None and time.monotonic() - started >= duration:
                    break
        except WorkerDied as exc:
            failure = str(exc)
        say("stopping: ingest first, then the stages drain")
        supervisor.stop(["ingest"])
        if failure is None:
            demo_setup.wait_for_drain(settings, bootstrap, timeout_s=30 if duration else 5)
        supervisor.stop()
        if report:
            counts = demo_setup.report(settings, bootstrap)
            counts["seconds"] = round(time.monotonic() - started, 1)
            counts["peak_rss_mb"] = supervisor.peak_rss_mb()
            if failure:
                counts["failure"] = failure.splitlines()[0]
            print(json.dumps(counts), flush=True)
        if failure:
            click.echo(failure, err=True)
            sys.exit(1)
