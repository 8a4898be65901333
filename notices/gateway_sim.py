"""A simulated SMS / VNeID gateway: a real HTTP server on 127.0.0.1 speaking the contract
``notices.channels.HttpGatewayChannel`` expects (POST JSON, ``Idempotency-Key``, answer
``{"message_id": ...}``). It keeps every message it accepted, answers a repeated idempotency key
with the first message id, and can be told to fail the next requests with a status code (to
exercise retries and fallback). Used by the tests and the demo; no real gateway is reachable."""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class GatewayState:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)
    fail_next: deque[int] = field(default_factory=deque)  # status codes to answer, in order
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class SimulatedGateway:
    """``with SimulatedGateway("sms") as gw: gw.url`` -> a running gateway."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.state = GatewayState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                return

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with state.lock:
                    state.requests += 1
                    failing = state.fail_next.popleft() if state.fail_next else None
                if failing is not None:
                    self._answer(failing, {"error": f"simulated failure {failing}"})
                    return
                try:
                    body = json.loads(raw)
                    to = str(body["to"])
                except (ValueError, KeyError, TypeError):
                    self._answer(400, {"error": "expected JSON with 'to'"})
                    return
                key = self.headers.get("Idempotency-Key", "")
                with state.lock:
                    if key and key in state.by_key:
                        self._answer(200, {"message_id": state.by_key[key], "duplicate": True})
                        return
                    message_id = f"{name}-{uuid.uuid4().hex[:12]}"
                    state.by_key[key] = message_id
                    state.accepted.append({**body, "to": to, "message_id": message_id, "key": key})
                self._answer(202, {"message_id": message_id})

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"gateway-{name}", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/send" if isinstance(host, str) else f"http://{host.decode()}:{port}/send"

    def __enter__(self) -> SimulatedGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
