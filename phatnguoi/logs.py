"""Logging set-up: one JSON object per line (structured logs a platform can ship), or plain text
on a terminal when ``PHATNGUOI_LOG_FORMAT=text``."""

from __future__ import annotations

import json
import logging
import os
import sys
import time


class JsonFormatter(logging.Formatter):
    def __init__(self, worker: str) -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "worker": self.worker,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(*, worker: str, level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("PHATNGUOI_LOG_FORMAT", "json") == "text":
        handler.setFormatter(logging.Formatter(f"%(asctime)s {worker} %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter(worker))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("PHATNGUOI_LOG_LEVEL", "INFO"))
    for noisy in ("kafka", "ultralytics", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
