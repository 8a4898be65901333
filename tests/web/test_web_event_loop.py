"""A request that waits for SQLite's write lock must wait on a worker thread, never on the event
loop: the loop is what lets the request holding the lock finish. (A 403 page that read the user on
the loop hung 30 s beside the queue's evidence images; the payment callback had the same shape.)"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx

from cases.db import make_engine, session_factory, upgrade
from cases.payments import SIGNATURE_HEADER
from detection.evidence_store import FileEvidenceStore
from phatnguoi.web import create_app
from phatnguoi.web.serving import ThreadedServer

SECRET = "event-loop-test-secret-0123456789"


def test_a_callback_waiting_for_the_write_lock_leaves_the_event_loop_free(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    upgrade(f"sqlite:///{db}")
    engine = make_engine(f"sqlite:///{db}")
    app = create_app(session_factory=session_factory(engine), evidence_store=FileEvidenceStore(tmp_path / "ev"),
                     secret_key=SECRET)
    with ThreadedServer(app) as server:
        static, waited, answers = _static_while_a_callback_waits(server.url, db)
    engine.dispose()
    assert static.status_code == 200
    assert waited < 3, f"a static file took {waited:.1f} s while a callback waited for the lock: the loop was blocked"
    assert answers == [403]


def _static_while_a_callback_waits(base: str, db: Path) -> tuple[httpx.Response, float, list[int]]:
    holder = sqlite3.connect(db, timeout=0, isolation_level=None)
    answers: list[int] = []
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        # a forged callback is refused *and audited*: it must write, so it waits for the lock
        callback = threading.Thread(target=lambda: answers.append(httpx.post(
            f"{base}/desk/payments/callback", content=b'{"case_id": 1}', headers={SIGNATURE_HEADER: "forged"},
            timeout=60).status_code))
        callback.start()
        time.sleep(1.0)
        assert not answers, "the callback should still be waiting for the write lock"
        started = time.monotonic()
        static = httpx.get(f"{base}/static/style.css", timeout=10)
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    callback.join(timeout=60)
    return static, waited, answers
