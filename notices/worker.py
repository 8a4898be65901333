"""The notice worker: performs the ``render_notice`` outbox rows written when a case is filed.

For each unprocessed row: render the first notice PDF and store it content-addressed (outside
any write transaction), then in one transaction record the notice, move the case FILED ->
NOTICE_PRINTED and mark the row processed. Idempotent: a case that already has its first notice
only gets the row marked, and the UNIQUE (case, type) on notices refuses a second one even under
two racing workers. A row that
fails is rolled back, its attempt and error recorded, and retried on a later pass until
``max_attempts``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.models import Case, Notice, OutboxMessage
from cases.registry import owner_details
from cases.states import Status, transition
from detection.evidence_store import EvidenceStore
from notices.compose import NoticePolicy, compose_notice
from notices.render import render_html, render_pdf
from notices.tokens import make_token
from notices.types import Language, NoticeType

log = logging.getLogger(__name__)
ACTOR = "system:notices"
KIND = "render_notice"


@dataclass(frozen=True)
class NoticeWorkerConfig:
    secret_key: str
    pii_key: str
    verify_base_url: str = "http://127.0.0.1:8000/verify"
    language: Language = Language.VI
    max_attempts: int = 5
    policy: NoticePolicy = field(default_factory=NoticePolicy)


def _evidence_jpeg(case: Case, store: EvidenceStore) -> bytes | None:
    at = next((e for e in case.evidence if e.role == "at"), None)
    if at is None:
        return None
    try:
        return store.get(at.sha256)
    except KeyError:  # EvidenceNotFound is a KeyError: the notice still goes out, without the photo
        log.warning("case %s: evidence %s not in the store", case.case_number, at.sha256)
        return None


@dataclass(frozen=True)
class _Rendered:
    case_id: int
    token: str
    pdf_sha256: str


def _first_notice_exists(session: Session, case_id: int) -> bool:
    return (
        session.scalar(select(Notice.id).where(Notice.case_id == case_id, Notice.type == NoticeType.FIRST))
        is not None
    )


def render_first_notice(
    case: Case, store: EvidenceStore, config: NoticeWorkerConfig, *, now: datetime
) -> _Rendered:
    """Render and store the first notice of a FILED case (no database writes)."""
    if case.vehicle is None:
        raise ValueError(f"case {case.case_number} has no registry vehicle: expected an identified owner")
    token = make_token(config.secret_key, case_number=case.case_number, notice_type=NoticeType.FIRST)
    data = compose_notice(
        case,
        owner=owner_details(case.vehicle.owner, pii_key=config.pii_key),
        evidence_jpeg=_evidence_jpeg(case, store),
        verify_url=f"{config.verify_base_url.rstrip('/')}/{token}",
        issued_at=now,
        language=config.language,
        policy=config.policy,
    )
    pdf = render_pdf(render_html(data))
    return _Rendered(case_id=case.id, token=token, pdf_sha256=store.put(pdf, content_type="application/pdf"))


def _claim(session: Session, row_id: int) -> OutboxMessage | None:
    return session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.processed_at.is_(None))
        .with_for_update(skip_locked=True)
    )


def _process_one(
    session_factory: sessionmaker[Session], row_id: int, store: EvidenceStore, config: NoticeWorkerConfig
) -> bool:
    """Render outside any write transaction (a PDF takes a while), then record it in one."""
    now = datetime.now(UTC)
    rendered = None
    with session_factory() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.processed_at is not None:
            return False
        case = session.get(Case, int(row.payload["case_id"]))
        if case is None:
            raise ValueError(f"outbox row {row_id}: no case {row.payload.get('case_id')!r}")
        if not _first_notice_exists(session, case.id):
            if case.status != Status.FILED:
                raise ValueError(f"case {case.case_number} is {case.status}: expected filed")
            rendered = render_first_notice(case, store, config, now=now)
    with session_factory() as session:
        row = _claim(session, row_id)
        if row is None:  # done by another worker meanwhile
            return False
        if rendered is not None and not _first_notice_exists(session, rendered.case_id):
            case = session.get(Case, rendered.case_id)
            assert case is not None
            session.add(
                Notice(
                    case_id=case.id,
                    type=NoticeType.FIRST,
                    status="rendered",
                    pdf_sha256=rendered.pdf_sha256,
                    pdf_key=rendered.pdf_sha256,
                    token=rendered.token,
                    created_at=now,
                )
            )
            session.flush()
            transition(
                session,
                case,
                to=Status.NOTICE_PRINTED,
                actor=ACTOR,
                reason=f"notice PDF {rendered.pdf_sha256[:12]}",
                at=now,
            )
        row.processed_at = now
        row.attempts += 1
        row.last_error = None
        session.commit()
    return True


def process_outbox(
    session_factory: sessionmaker[Session],
    store: EvidenceStore,
    config: NoticeWorkerConfig,
    *,
    limit: int = 20,
) -> int:
    """One pass over pending ``render_notice`` rows; returns how many were completed."""
    with session_factory() as session:
        ids = session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.kind == KIND,
                OutboxMessage.processed_at.is_(None),
                OutboxMessage.attempts < config.max_attempts,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    done = 0
    for row_id in ids:
        try:
            done += _process_one(session_factory, row_id, store, config)
        except Exception as exc:  # recorded on the row and retried: one bad case must not stop the rest
            log.exception("outbox row %s failed", row_id)
            with session_factory() as session:
                failed = session.get(OutboxMessage, row_id)
                if failed is not None:
                    failed.attempts += 1
                    failed.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    session.commit()
    return done


def run_notice_worker(
    session_factory: sessionmaker[Session],
    store: EvidenceStore,
    config: NoticeWorkerConfig,
    *,
    stop: threading.Event,
    interval_s: float = 1.0,
) -> int:
    """Poll the outbox until ``stop`` is set; returns how many notices were completed."""
    total = 0
    while not stop.is_set():
        done = process_outbox(session_factory, store, config)
        total += done
        if not done:
            stop.wait(interval_s)
    return total
