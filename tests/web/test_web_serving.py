"""``ThreadedServer``: serves a real app on a free port, stops when asked, and fails loudly when it
cannot serve (a taken port) instead of leaving its caller waiting on a server that never came up."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI

from phatnguoi.web.serving import ThreadedServer


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


def test_serves_on_a_free_port_and_stops():
    with ThreadedServer(_app()) as server:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.url + "/ping", timeout=5).json() == {"pong": "yes"}
        thread = server._thread
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/ping", timeout=2)


@contextmanager
def _taken_port() -> Iterator[int]:
    """A loopback port another socket listens on for the duration."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_a_taken_port_is_an_error_that_names_it(monkeypatch):
    escaped: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    with _taken_port() as port, pytest.raises(RuntimeError, match=f"could not serve on 127.0.0.1:{port}"):
        ThreadedServer(_app(), port=port).start(timeout_s=10)
    assert escaped == []  # uvicorn's exit is reported once, not also as an unhandled thread exception


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_web_worker_serves_until_stopped(web_db, tmp_path):
    from phatnguoi.settings import Settings
    from phatnguoi.workers import run_web

    port = _free_port()
    settings = Settings(var_dir=tmp_path, database_url=str(web_db.kw["bind"].url), web={"port": port})
    stop = threading.Event()
    worker = threading.Thread(target=run_web, args=(settings, stop), daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the web worker did not come up"
            time.sleep(0.1)
    stop.set()
    worker.join(timeout=15)
    assert not worker.is_alive()


def test_the_web_worker_fails_on_a_taken_port_instead_of_waiting(web_db, tmp_path):
    """Before ``ThreadedServer`` the worker went on waiting for ``stop`` with no server behind it."""
    from phatnguoi.settings import Settings
    from phatnguoi.workers import run_web

    with _taken_port() as port:
        settings = Settings(var_dir=tmp_path, database_url=str(web_db.kw["bind"].url), web={"port": port})
        stop = threading.Event()  # never set: only the error can end the call
        with pytest.raises(RuntimeError, match=f"could not serve on 127.0.0.1:{port}"):
            run_web(settings, stop)
