"""What each worker process runs: composition of the packages, no domain logic.

Every ``run_*`` takes the settings and a stop event and returns when the event is set (or, for
a finite source, when it ends). ``phatnguoi worker NAME`` calls these; the demo supervisor starts
one process per worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from phatnguoi.casework import pii_keys
from phatnguoi.settings import Settings

log = logging.getLogger("phatnguoi.workers")


# --- shared pieces --------------------------------------------------------------------------------


def evidence_store(settings: Settings):  # noqa: ANN201 - returns the EvidenceStore Protocol
    from detection.evidence_backends import make_evidence_store

    return make_evidence_store(settings.evidence)


def simulated_cameras(settings: Settings, count: int | None = None) -> list:
    """The simulator's cameras (``sim-*.yaml`` in the cameras folder), the first ``count``."""
    from ingest.camera import load_camera

    paths = sorted(Path(settings.ingest.cameras_dir).glob("sim-*.yaml"))
    count = settings.ingest.simulated_cameras if count is None else count
    if count > len(paths):
        raise ValueError(f"asked for {count} simulated cameras, but {settings.ingest.cameras_dir} has "
                         f"{len(paths)} (sim-*.yaml)")
    return [load_camera(p) for p in paths[:count]]


def all_cameras(settings: Settings) -> dict:
    from ingest.camera import load_cameras

    return load_cameras(settings.ingest.cameras_dir)


_FACTORIES: dict[str, object] = {}


def session_factory(settings: Settings):  # noqa: ANN201
    """One engine (and session factory) per database URL in this process."""
    from cases.db import make_engine
    from cases.db import session_factory as factory

    assert settings.database_url is not None
    if settings.database_url not in _FACTORIES:
        _FACTORIES[settings.database_url] = factory(make_engine(settings.database_url))
    return _FACTORIES[settings.database_url]


def secret(settings: Settings, name: str) -> str:
    value = getattr(settings.security, name)
    assert value is not None, f"security.{name} was not filled in by the settings"
    return value.get_secret_value()


def _bootstrap(settings: Settings) -> str:
    if not settings.kafka.bootstrap:
        raise ValueError("kafka.bootstrap is not set: a worker needs PHATNGUOI_KAFKA__BOOTSTRAP=HOST:PORT "
                         "(the demo sets it for the workers it starts)")
    return settings.kafka.bootstrap


# --- ingest ------------------------------------------------------------------------------------------


def registry_inbox(settings: Settings) -> Path:
    """Where the simulator drops registration records of the vehicles it invents (CSV files,
    each imported once by the demo): the demo's stand-in for the national vehicle registry."""
    return Path(settings.var_dir) / "registry-inbox"


def _frames_with_registry(sim, inbox: Path, *, every: int) -> Iterable:  # noqa: ANN001
    """The simulator's frames; every ``every`` frames (and at the end) the registration records
    of vehicles that entered the scene since the last time go to a new CSV file in ``inbox``."""
    from ingest.sim.registry import registry_entry, write_registry

    written: set[str] = set()
    batch = 0

    def dump() -> None:
        nonlocal batch
        # only the plates new since the last dump get a record: the scene's plate list only grows
        new = [registry_entry(plate, seed=sim.seed, vehicle_class=cls.value, colour=colour)
               for text, (plate, cls, colour) in sim.plates.items() if text not in written]
        if not new:
            return
        inbox.mkdir(parents=True, exist_ok=True)
        tmp = inbox / f".{sim.camera.id}-{batch:06d}.csv.tmp"
        write_registry(new, tmp)
        tmp.rename(inbox / f"{sim.camera.id}-{batch:06d}.csv")  # atomic: the importer never sees half a file
        written.update(e.plate_text for e in new)
        batch += 1

    for n, (frame, _truth) in enumerate(sim, start=1):
        if n % every == 0:
            dump()
        yield frame
    dump()


def run_ingest(settings: Settings, stop: threading.Event, *, seed: int = 0, limit: int | None = None,
               realtime: bool = True) -> int:
    """One producer thread per simulated camera, paced to the camera's fps; returns frames sent."""
    from ingest.producer import FrameProducer, run_producer
    from ingest.sim.camera import SimulatedCamera

    bootstrap = _bootstrap(settings)
    topics = settings.kafka.topics
    start_ns = time.time_ns()
    producer = FrameProducer(bootstrap, topic=topics.frames_raw.name, health_topic=topics.cameras_health.name,
                             heartbeat_s=settings.ingest.heartbeat_s, pace=realtime)
    inbox = registry_inbox(settings)
    threads = []
    for n, camera in enumerate(simulated_cameras(settings)):
        sim = SimulatedCamera(camera, seed=seed + n, start_ns=start_ns, frames=limit)
        frames = _frames_with_registry(sim, inbox, every=max(1, round(2 * sim.fps)))
        thread = threading.Thread(target=run_producer, args=(frames, producer, stop), name=f"ingest-{camera.id}",
                                  daemon=True)
        thread.start()
        threads.append(thread)
    try:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            producer.heartbeat()
            stop.wait(1.0)
        for thread in threads:
            thread.join()
    finally:
        producer.close()
    return producer.sent


# --- detection ---------------------------------------------------------------------------------------


def detection_process(settings: Settings) -> Callable:
    """The detection stage as ``record -> [OutMessage]``: decode, detect, track, rules, evidence."""
    from detection.detector import YoloDetector, parse_class_map, shipped_weights
    from detection.pipeline import DetectionStage
    from detection.reader import OnnxPlateReader
    from detection.tracking import make_tracker
    from ingest.producer import decode_frame
    from phatnguoi.streams import OutMessage

    cameras = all_cameras(settings)
    cfg = settings.detection
    class_map = parse_class_map(cfg.class_map) if cfg.class_map else None
    detector = YoloDetector(cfg.weights or shipped_weights(cfg.backend), class_map=class_map,
                            imgsz=cfg.imgsz, conf=cfg.conf)
    reader = OnnxPlateReader(cfg.plate_reader_model)
    fps = max((c.fps for c in cameras.values()), default=10.0)
    stage = DetectionStage(
        cameras,
        detector=detector,
        reader=reader,
        store=evidence_store(settings),
        signing_key=secret(settings, "evidence_signing_key").encode(),
        tracker_factory=lambda: make_tracker(cfg.tracker, fps=fps),
        model_versions={"detector": _version(detector), "plate_reader": _version(reader)},
        on_frame=camera_watch(settings, cameras),
    )
    topic = settings.kafka.topics.violations_detected.name

    def process(record) -> Iterable[OutMessage]:  # noqa: ANN001
        frame = decode_frame(record, known_cameras=cameras)
        return [OutMessage(topic=topic, key=e.violation_id.encode(), value=e.model_dump_json().encode())
                for e in stage.process(frame)]

    return process


def camera_watch(settings: Settings, cameras: dict):  # noqa: ANN201 - a detection.pipeline.FrameHook
    """Issue 8: camera health and the operator's annotated previews, written to ``camera_status``."""
    from phatnguoi.camera_watch import CameraWatch

    return CameraWatch(session_factory(settings), cameras, reference_dir=Path(settings.var_dir) / "reference")


def _version(model: object) -> str:
    return str(getattr(model, "version", type(model).__name__))


def run_detection(settings: Settings, stop: threading.Event) -> None:
    """``frames.raw`` -> ``violations.detected``."""
    from phatnguoi.metrics import record_hook
    from phatnguoi.streams import Stage

    Stage(bootstrap=_bootstrap(settings), source_topic=settings.kafka.topics.frames_raw.name,
          group_id=settings.kafka.groups.detection, process=detection_process(settings), name="detection",
          on_record=record_hook("detection"),
          max_records=10, dlq_suffix=settings.kafka.dlq_suffix,
          session_timeout_ms=settings.kafka.session_timeout_ms,
          heartbeat_interval_ms=settings.kafka.heartbeat_interval_ms).run(stop)


# --- cases -------------------------------------------------------------------------------------------


def run_cases(settings: Settings, stop: threading.Event) -> None:
    """``violations.detected`` -> a case in the review queue (idempotent on the violation id);
    beside it, the deadline job every ``cases.deadlines_every_s``."""
    from cases.consumer import BatchedCaseStage
    from cases.deadlines import run_periodically
    from phatnguoi.casework import deadline_policy, intake_policy
    from phatnguoi.metrics import record_hook
    from phatnguoi.streams import Stage

    threading.Thread(target=run_periodically, args=(session_factory(settings), stop), name="deadlines", daemon=True,
                     kwargs={"every_s": settings.cases.deadlines_every_s, "policy": deadline_policy(settings)}).start()
    intake = BatchedCaseStage(session_factory(settings), policy=intake_policy(settings))
    Stage(bootstrap=_bootstrap(settings), source_topic=settings.kafka.topics.violations_detected.name,
          group_id=settings.kafka.groups.cases, name="cases",
          process=intake.process, on_batch_durable=intake.on_batch_durable,
          on_record=record_hook("cases"),
          dlq_suffix=settings.kafka.dlq_suffix, session_timeout_ms=settings.kafka.session_timeout_ms,
          heartbeat_interval_ms=settings.kafka.heartbeat_interval_ms).run(stop)


# --- notices -----------------------------------------------------------------------------------------


def run_notices(settings: Settings, stop: threading.Event) -> None:
    """Render the notices the outbox asks for (after an officer approves a case)."""
    from notices.channels import channels_from
    from notices.worker import NoticeWorkerConfig, run_notice_worker

    config = NoticeWorkerConfig(secret_key=secret(settings, "secret_key"), pii_key=pii_keys(settings),
                                verify_base_url=f"{public_url(settings)}/verify",
                                channels=channels_from(settings.notices))
    run_notice_worker(session_factory(settings), evidence_store(settings), config, stop=stop)


# --- web ---------------------------------------------------------------------------------------------


def public_url(settings: Settings) -> str:
    """Where citizens reach the site: the notice QR codes link here."""
    return (settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}").rstrip("/")


def pipeline_monitor(settings: Settings):  # noqa: ANN201 - a started PipelineMonitor, or None
    """Issue 8: the operator pages' view of Kafka (heartbeats, lag, dead letters); None without a broker."""
    if not settings.kafka.bootstrap:
        return None
    from phatnguoi.web.monitor import PipelineMonitor

    topics, groups = settings.kafka.topics, settings.kafka.groups
    return PipelineMonitor(settings.kafka.bootstrap, health_topic=topics.cameras_health.name,
                           stages={topics.frames_raw.name: groups.detection,
                                   topics.violations_detected.name: groups.cases},
                           dlq_suffix=settings.kafka.dlq_suffix).start()


def run_web(settings: Settings, stop: threading.Event) -> None:
    from phatnguoi.casework import payment_secret
    from phatnguoi.web import create_app
    from phatnguoi.web.serving import ThreadedServer

    monitor = pipeline_monitor(settings)
    app = create_app(session_factory=session_factory(settings), evidence_store=evidence_store(settings),
                     secret_key=secret(settings, "secret_key"), pii_key=pii_keys(settings),
                     public_base_url=public_url(settings), cameras=all_cameras(settings), monitor=monitor,
                     payment_days=settings.cases.payment_days, payment_callback_secret=payment_secret(settings),
                     lookup_pow_bits=settings.notices.lookup_pow_bits,
                     lookups_per_minute=settings.notices.lookups_per_minute,
                     lookup_burst=settings.notices.lookup_burst)
    try:
        # uvicorn installs no signal handlers off the main thread: the worker's own handler sets ``stop``
        with ThreadedServer(app, host=settings.web.host, port=settings.web.port):
            stop.wait()
    finally:
        if monitor is not None:
            monitor.close()


WORKERS: dict[str, Callable[[Settings, threading.Event], object]] = {
    "ingest": run_ingest,
    "detection": run_detection,
    "cases": run_cases,
    "notices": run_notices,
    "web": run_web,
}
