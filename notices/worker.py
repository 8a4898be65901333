"""The notice worker: performs the ``render_notice`` outbox rows (``{"case_id", "type"}``) the
case state machine writes, for every ``NoticeType``.

For each unprocessed row: render the notice PDF and store it content-addressed (outside any write
transaction), then in one transaction record the notice, move the case FILED -> NOTICE_PRINTED
(first notice only), queue its delivery (outbox ``deliver_notice``, see ``notices.delivery``) and
mark the row processed. Idempotent: a case that already has that notice only gets the row marked,
and the UNIQUE (case, type) on notices refuses a second one even under two racing workers. A row
that fails is rolled back, its attempt and error recorded, and retried on a later pass until
``max_attempts``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.models import Case, Decision, Notice, OutboxMessage
from cases.registry import owner_details
from cases.review import notice_blocked
from cases.states import Status, transition
from detection.evidence_store import EvidenceStore
from notices.channels import NoticeChannel, PostalChannel
from notices.compose import NoticePolicy, compose_notice
from notices.delivery import DeliveryConfig, deliver_pending
from notices.render import print_jpeg, render_html, render_pdf
from notices.tokens import make_token
from notices.types import Language, NoticeType

log = logging.getLogger(__name__)
ACTOR = "system:notices"
KIND = "render_notice"
DELIVER_KIND = "deliver_notice"
DELIVERY_ORDER = ("vneid", "email", "sms", "postal")  # electronic first, paper last


def notice_type_of(payload: dict[str, object]) -> NoticeType:
    """The payload's notice type; rows written before types existed mean the first notice."""
    value = payload.get("type", NoticeType.FIRST)
    try:
        return NoticeType(str(value))
    except ValueError as exc:
        raise ValueError(f"expected a notice type in {[t.value for t in NoticeType]}, got {value!r}") from exc


@dataclass(frozen=True)
class NoticeWorkerConfig:
    secret_key: str
    pii_key: str
    verify_base_url: str = "http://127.0.0.1:8000/verify"
    language: Language = Language.VI
    max_attempts: int = 5
    policy: NoticePolicy = field(default_factory=NoticePolicy)
    # delivery channels by name; the worker tries them in ``DELIVERY_ORDER``. Only the postal
    # batch needs no outside service, so it is the default; e-mail/SMS/VNeID are added where
    # their servers are configured.
    channels: dict[str, NoticeChannel] = field(default_factory=lambda: {"postal": PostalChannel()})

    def delivery(self) -> DeliveryConfig:
        order = tuple(name for name in DELIVERY_ORDER if name in self.channels)
        return DeliveryConfig(pii_key=self.pii_key, verify_base_url=self.verify_base_url, order=order)


def _evidence_jpeg(case: Case, store: EvidenceStore) -> bytes | None:
    at = next((e for e in case.evidence if e.role == "at"), None)
    if at is None:
        return None
    try:
        return print_jpeg(store.get(at.sha256))
    except KeyError:  # EvidenceNotFound is a KeyError: the notice still goes out, without the photo
        log.warning("case %s: evidence %s not in the store", case.case_number, at.sha256)
        return None


@dataclass(frozen=True)
class _Rendered:
    case_id: int
    token: str
    pdf_sha256: str


def _notice_exists(session: Session, case_id: int, notice_type: NoticeType = NoticeType.FIRST) -> bool:
    return (
        session.scalar(select(Notice.id).where(Notice.case_id == case_id, Notice.type == notice_type)) is not None
    )


def render_notice(
    case: Case,
    store: EvidenceStore,
    config: NoticeWorkerConfig,
    *,
    now: datetime,
    notice_type: NoticeType = NoticeType.FIRST,
) -> _Rendered:
    """Render and store one notice of a filed case (reads the case's decision and first notice;
    writes nothing to the database)."""
    if case.vehicle is None:
        raise ValueError(f"case {case.case_number} has no registry vehicle: expected an identified owner")
    notice_type = NoticeType(notice_type)
    token = make_token(config.secret_key, case_number=case.case_number, notice_type=notice_type)
    first = next((n for n in case.notices if n.type == NoticeType.FIRST), None)
    decision = None
    if notice_type == NoticeType.DECISION:
        from sqlalchemy.orm import object_session

        session = object_session(case)
        decision = session.scalar(select(Decision).where(Decision.case_id == case.id)) if session else None
    data = compose_notice(
        case,
        owner=owner_details(case.vehicle.owner, pii_key=config.pii_key),
        evidence_jpeg=_evidence_jpeg(case, store),
        verify_url=f"{config.verify_base_url.rstrip('/')}/{token}",
        issued_at=decision.decided_at if decision is not None else now,
        language=config.language,
        policy=config.policy,
        notice_type=notice_type,
        fine_decided_vnd=decision.fine_vnd if decision is not None else None,
        resolved_at=case.status_changed_at if case.status == Status.CLOSED else None,
        first_notice_at=first.created_at if first is not None else None,
    )
    pdf = render_pdf(render_html(data))
    return _Rendered(case_id=case.id, token=token, pdf_sha256=store.put(pdf, content_type="application/pdf"))


def render_first_notice(case: Case, store: EvidenceStore, config: NoticeWorkerConfig, *, now: datetime) -> _Rendered:
    """The first notice of a FILED case (kept for callers of the first version)."""
    return render_notice(case, store, config, now=now, notice_type=NoticeType.FIRST)


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
        notice_type = notice_type_of(row.payload)
        if not _notice_exists(session, case.id, notice_type):
            if notice_type == NoticeType.FIRST and case.status != Status.FILED:
                raise ValueError(f"case {case.case_number} is {case.status}: expected filed")
            rendered = render_notice(case, store, config, now=now, notice_type=notice_type)
    with session_factory() as session:
        row = _claim(session, row_id)
        if row is None:  # done by another worker meanwhile
            return False
        if rendered is not None and not _notice_exists(session, rendered.case_id, notice_type):
            case = session.get(Case, rendered.case_id)
            assert case is not None
            session.add(
                Notice(
                    case_id=case.id,
                    type=notice_type,
                    status="rendered",
                    pdf_sha256=rendered.pdf_sha256,
                    pdf_key=rendered.pdf_sha256,
                    token=rendered.token,
                    created_at=now,
                )
            )
            session.add(
                OutboxMessage(
                    kind=DELIVER_KIND,
                    payload={"case_id": case.id, "type": str(notice_type)},
                    created_at=now,
                    dedupe_key=f"{DELIVER_KIND}:{case.id}:{notice_type}",
                )
            )
            session.flush()
            if notice_type == NoticeType.FIRST and case.status == Status.FILED:
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
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.payload)
            .where(
                OutboxMessage.kind == KIND,
                OutboxMessage.processed_at.is_(None),
                OutboxMessage.attempts < config.max_attempts,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
        # A case whose plate correction waits for a supervisor gets no notice yet: skipped without
        # spending an attempt (the database would refuse the Notice row anyway).
        ids = [row_id for row_id, payload in rows
               if notice_blocked(session=session, case_id=int(payload.get("case_id", 0))) is None]
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
    """Poll the outbox until ``stop`` is set: render what ``render_notice`` rows ask for, then
    deliver what ``deliver_notice`` rows ask for; returns how many notices were rendered."""
    total = 0
    delivery = config.delivery()
    while not stop.is_set():
        done = process_outbox(session_factory, store, config)
        total += done
        try:
            done += deliver_pending(session_factory, config.channels, store, delivery)
        except Exception:  # a broken channel must not stop rendering; each row records its own error
            log.exception("delivery pass failed")
        if not done:
            stop.wait(interval_s)
    return total
