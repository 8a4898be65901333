"""Serve an ASGI app with uvicorn in a background thread.

One helper for the three places that need it: the web worker (``phatnguoi.workers.run_web``), the
page benchmarks' seeded server (``bench/pages_seed.py``) and the web tests that need a real HTTP
server. uvicorn installs no signal handlers off the main thread, so whoever starts the server stops
it (``stop`` or leaving the ``with`` block). A server that cannot start (the port is taken, the host
is not an address of this machine) raises instead of leaving a worker waiting on nothing.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class ThreadedServer:
    """uvicorn serving ``app`` on ``host:port`` in a daemon thread; ``port=0`` takes a free port.

    ``with ThreadedServer(app) as server:`` starts it and waits until it accepts connections;
    ``server.url`` is its base URL."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str = "web") -> None:
        import uvicorn

        self.host = host
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.port = port
        self.exit_code: int | None = None  # uvicorn's exit code when it gave up starting

    def _serve(self) -> None:
        # uvicorn ends a failed start (a taken port) with sys.exit(3): in a thread that would be an
        # unhandled exception with a second traceback; ``start`` reports it instead.
        try:
            self._server.run()
        except SystemExit as stop:
            self.exit_code = stop.code if isinstance(stop.code, int) else 1

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> ThreadedServer:
        """Start serving; returns once the server accepts connections. Raises ``RuntimeError`` if it
        stopped while starting (uvicorn logged why) or did not start within ``timeout_s``."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the web server could not serve on {self.host}:{self.port} "
                                   f"(uvicorn exit code {self.exit_code}; the port taken? the host not an "
                                   "address of this machine? see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the web server did not start on {self.host}:{self.port} in {timeout_s:g} s")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the server to finish its requests and stop; waits up to ``timeout_s`` for it."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
