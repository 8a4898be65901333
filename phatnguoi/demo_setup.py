"""The steps around the demo's workers: prepare the database and accounts, tell workers where
things are, wait for the pipeline to drain, and count what went through it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from phatnguoi.casework import pii_keys
from phatnguoi.settings import Settings
from phatnguoi.workers import all_cameras, session_factory, simulated_cameras


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    supervisor: str
    supervisor_password: str
    operator: str
    operator_password: str
    admin: str
    admin_password: str


# One account per role, each with a password generated at every start (never a default one).
DEMO_ACCOUNTS = (("canbo", "officer"), ("giamsat", "supervisor"), ("vanhanh", "operator"), ("quantri", "admin"))


def prepare(settings: Settings) -> DemoLogin:
    """Migrations, cameras and units, and two demo accounts with freshly generated passwords
    (an account left from an earlier run gets a new password: none is ever built in)."""
    from sqlalchemy import select

    from cases.accounts import create_user, generate_password, hash_password
    from cases.cameras import register_cameras
    from cases.db import upgrade
    from cases.models import User

    assert settings.database_url is not None
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    unit = simulated_cameras(settings, 1)[0].unit.code
    passwords = {}
    with session_factory(settings).begin() as session:
        register_cameras(session, all_cameras(settings).values())
        for username, role in DEMO_ACCOUNTS:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                _, passwords[username] = create_user(session, username=username, role=role, unit_code=unit)
            else:
                passwords[username] = generate_password()
                user.password_hash = hash_password(passwords[username])
                user.failed_logins = 0
                user.locked_until = None
    return DemoLogin("canbo", passwords["canbo"], "giamsat", passwords["giamsat"],
                     "vanhanh", passwords["vanhanh"], "quantri", passwords["quantri"])


def import_registry_inbox(settings: Settings) -> int:
    """Import each registration file the simulator dropped in the inbox, once; returns how many."""
    from cases.registry import import_registry_csv
    from phatnguoi.workers import registry_inbox

    inbox = registry_inbox(settings)
    files = sorted(inbox.glob("*.csv")) if inbox.exists() else []
    if not files:
        return 0
    done = inbox / "imported"
    done.mkdir(exist_ok=True)
    factory = session_factory(settings)
    for path in files:
        with factory.begin() as session:
            import_registry_csv(session, path, pii_key=pii_keys(settings))
        path.rename(done / path.name)
    return len(files)


def worker_env(settings: Settings, bootstrap: str) -> dict[str, str]:
    """What every worker needs to find the same broker, database, evidence and secrets."""
    env = {
        "PHATNGUOI_KAFKA__BOOTSTRAP": bootstrap,
        "PHATNGUOI_DATABASE_URL": str(settings.database_url),
        "PHATNGUOI_VAR_DIR": str(settings.var_dir),
        "PHATNGUOI_ENV": settings.env.value,
        "PHATNGUOI_INGEST__SIMULATED_CAMERAS": str(settings.ingest.simulated_cameras),
        "PHATNGUOI_WEB__PORT": str(settings.web.port),
        "YOLO_OFFLINE": "1",
    }
    for name in ("secret_key", "evidence_signing_key", "pii_key"):
        value = getattr(settings.security, name)
        if value is not None:
            env[f"PHATNGUOI_SECURITY__{name.upper()}"] = value.get_secret_value()
    return env


class Offsets:
    """End offsets and committed group offsets, read over one consumer and one admin client
    (open it once for a loop of readings)."""

    def __init__(self, bootstrap: str) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)

    def __enter__(self) -> Offsets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.consumer.close()
        self.admin.close()

    def end(self, topic: str) -> int:
        """Messages ever written to ``topic`` (sum of its partitions' end offsets)."""
        from kafka import TopicPartition

        tps = [TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or set()]
        return sum(self.consumer.end_offsets(tps).values()) if tps else 0

    def committed(self, group: str, topic: str) -> int:
        """Messages of ``topic`` that ``group`` has committed."""
        offsets = self.admin.list_group_offsets({group: None}).get(group, {})
        return sum(om.offset for tp, om in offsets.items() if tp.topic == topic and om.offset >= 0)

    def lag(self, settings: Settings) -> dict[str, int]:
        """Messages not yet committed by each stage's group."""
        topics, groups = settings.kafka.topics, settings.kafka.groups
        return {
            "detection": self.end(topics.frames_raw.name) - self.committed(groups.detection, topics.frames_raw.name),
            "cases": self.end(topics.violations_detected.name)
            - self.committed(groups.cases, topics.violations_detected.name),
        }


def wait_for_drain(settings: Settings, bootstrap: str, *, timeout_s: float) -> dict[str, int]:
    """Wait until the stages have caught up with what was produced (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s
    with Offsets(bootstrap) as offsets:
        current = offsets.lag(settings)
        while any(current.values()) and time.monotonic() < deadline:
            time.sleep(1.0)
            current = offsets.lag(settings)
    return current


def report(settings: Settings, bootstrap: str) -> dict:
    """Counts of what went through the pipeline, read from the broker and the database."""
    from sqlalchemy import func, select

    from cases.models import Case, Notice

    topics, groups = settings.kafka.topics, settings.kafka.groups
    with Offsets(bootstrap) as offsets:
        dlq = {t: offsets.end(t + settings.kafka.dlq_suffix) for t in settings.topics_with_partitions()}
        counts: dict[str, object] = {
            "frames_produced": offsets.end(topics.frames_raw.name),
            "frames_processed": offsets.committed(groups.detection, topics.frames_raw.name),
            "violations": offsets.end(topics.violations_detected.name),
        }
    with session_factory(settings)() as session:
        counts["cases"] = session.scalar(select(func.count()).select_from(Case)) or 0
        counts["notices"] = session.scalar(select(func.count()).select_from(Notice)) or 0
    counts["dead_lettered"] = sum(dlq.values())
    counts["dead_lettered_by_topic"] = {t: n for t, n in dlq.items() if n}
    return counts
