"""One supervisor for the demo: starts each worker as its own process, watches them, samples their
memory, and stops them all cleanly (SIGTERM, then SIGKILL after a grace period)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass(frozen=True)
class WorkerSpec:
    """A worker process: ``phatnguoi worker <name>`` with extra arguments and environment."""

    name: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class _Running:
    spec: WorkerSpec
    process: subprocess.Popen[bytes]
    log: Path
    peak_rss: int = 0


class WorkerDied(RuntimeError):
    """A worker exited while the supervisor expected it to run; the message holds its log tail."""


class Supervisor:
    """Start, watch and stop worker processes. Logs go to ``log_dir/<name>.log``."""

    def __init__(self, specs: list[WorkerSpec], *, log_dir: Path, base_env: dict[str, str],
                 watch: dict[str, int] | None = None) -> None:
        """``watch``: other processes (name -> pid) whose memory is sampled with the workers',
        e.g. the embedded broker."""
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"expected unique worker names, got {names}")
        self.specs = specs
        self.log_dir = log_dir
        self.base_env = base_env
        self.running: dict[str, _Running] = {}
        self.watched = {name: [pid, 0] for name, pid in (watch or {}).items()}

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            log = self.log_dir / f"{spec.name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "phatnguoi.cli", "worker", spec.name, *spec.args],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**self.base_env, **spec.env},
                    start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops the rest
                )
            self.running[spec.name] = _Running(spec, process, log)

    def check(self) -> None:
        """Sample memory; raise ``WorkerDied`` naming the first worker that has exited."""
        for name, run in self.running.items():
            code = run.process.poll()
            if code is not None:
                raise WorkerDied(f"worker {name!r} exited with code {code}:\n{tail(run.log)}")
            run.peak_rss = max(run.peak_rss, _rss(run.process.pid))
        for entry in self.watched.values():
            entry[1] = max(entry[1], _rss(entry[0]))

    def peak_rss_mb(self) -> dict[str, float]:
        peaks = {name: run.peak_rss for name, run in self.running.items()}
        peaks.update({name: peak for name, (_, peak) in self.watched.items()})
        return {name: round(peak / 2**20, 1) for name, peak in peaks.items()}

    def stop(self, names: list[str] | None = None, *, grace_s: float = 20.0) -> dict[str, int | None]:
        """SIGTERM the named workers (all by default), wait up to ``grace_s``, then SIGKILL."""
        targets = [self.running[n] for n in (names or list(self.running)) if n in self.running]
        for run in targets:
            if run.process.poll() is None:
                run.peak_rss = max(run.peak_rss, _rss(run.process.pid))
                run.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        codes: dict[str, int | None] = {}
        for run in targets:
            try:
                codes[run.spec.name] = run.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(run.process.pid, signal.SIGKILL)
                codes[run.spec.name] = run.process.wait()
        return codes


def _rss(pid: int) -> int:
    """Resident memory of a process and its children, in bytes; 0 once it is gone."""
    try:
        proc = psutil.Process(pid)
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        return 0


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
