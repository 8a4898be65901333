"""The demo supervisor: a dead worker is reported with its log, memory is sampled, names are unique."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phatnguoi.supervisor import Supervisor, WorkerDied, WorkerSpec


def test_a_worker_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor([WorkerSpec("no-such-worker")], log_dir=tmp_path, base_env=dict(os.environ))
    supervisor.start()
    supervisor.running["no-such-worker"].process.wait(timeout=120)
    with pytest.raises(WorkerDied, match=r"worker 'no-such-worker' exited with code 2") as raised:
        supervisor.check()
    assert "no-such-worker" in (tmp_path / "no-such-worker.log").read_text()
    assert "Invalid value" in str(raised.value)  # the log tail travels with the error
    assert supervisor.stop() == {"no-such-worker": 2}


def test_watched_processes_have_their_memory_sampled(tmp_path: Path) -> None:
    supervisor = Supervisor([], log_dir=tmp_path, base_env={}, watch={"me": os.getpid()})
    supervisor.check()
    assert supervisor.peak_rss_mb()["me"] > 10  # this Python process holds well over 10 MB


def test_worker_names_must_be_unique(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected unique worker names"):
        Supervisor([WorkerSpec("web"), WorkerSpec("web")], log_dir=tmp_path, base_env={})
