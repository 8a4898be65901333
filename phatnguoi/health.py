"""A tiny HTTP server for the probes and metrics of a non-web worker (ingest, detection, cases,
notices), run in a daemon thread beside the worker's own loop:

- ``GET /healthz``: liveness, 200 while the process answers at all;
- ``GET /readyz``: readiness, 200 when ``ready()`` returns true, else 503 (also 503 when
  ``ready()`` raises: the error's type is in the body);
- ``GET /metrics``: the ``prometheus_client`` registry in the Prometheus text format.

Enabled by the ``health_port`` setting (``PHATNGUOI_HEALTH_PORT``; unset = off). The web worker
serves the same paths from its FastAPI app instead.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


class HealthServer:
    """A running health server; ``port`` is the bound port (useful with ``port=0``)."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(ready: Callable[[], bool], registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "application/json", b'{"status": "ok"}')
            elif path == "/readyz":
                try:
                    ok, reason = bool(ready()), ""
                except Exception as exc:  # a failing check means "not ready", never a crash
                    ok, reason = False, f"readiness check raised {type(exc).__name__}"
                body = {"status": "ok" if ok else "unavailable"} | ({"reason": reason} if reason else {})
                self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            else:
                self._send(404, "application/json", b'{"detail": "not found"}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - probes are not news
            pass

    return Handler


def serve_health(
    port: int,
    ready: Callable[[], bool],
    *,
    host: str = "0.0.0.0",  # noqa: S104 - probes come from the orchestrator, not from loopback
    registry: CollectorRegistry = REGISTRY,
) -> HealthServer:
    """Start serving ``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port`` in a daemon thread.

    ``port`` 0 picks a free port (see :attr:`HealthServer.port`). Raises ``OSError`` naming the
    port when it cannot be bound.
    """
    if not 0 <= port <= 65535:
        raise ValueError(f"health port: expected 0..65535, got {port}")
    try:
        server = ThreadingHTTPServer((host, port), _handler(ready, registry))
    except OSError as exc:
        raise OSError(f"cannot serve health checks on {host}:{port}: {exc}") from exc
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"health-{port}", daemon=True)
    thread.start()
    log.info("health server on %s:%d (/healthz, /readyz, /metrics)", host, server.server_address[1])
    return HealthServer(server, thread)


def database_ready(session_factory) -> Callable[[], bool]:  # noqa: ANN001 - a sqlalchemy sessionmaker
    """A readiness check: true when the database answers ``SELECT 1`` (raises, so 503, when not)."""
    from sqlalchemy import text

    def check() -> bool:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        return True

    return check
