"""Step 5 and 6 of the process: working with the owner and closing the case.

The owner is given an appointment; when they appear the case is RESOLVING; they explain, or name
the person who drove (the fine then moves to that driver); the officer issues the violation
record and the penalty decision (DECIDED, the ``decision`` notice queued); payment closes it
(``cases.payments``). A case may instead be transferred to the police of the owner's locality,
dismissed, or closed as expired once the one-year limitation has passed.

Keyword-only service functions; each raises ``ResolutionError`` (with a message an officer can
read) and changes nothing when the case cannot take the step. None commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Appointment, Case, Decision, Owner, Statement, Transfer, Unit, Vehicle
from cases.pii import PiiCipher
from cases.states import IllegalTransition, Outcome, Status, record_event, transition
from cases.types import VN_TZ


class ResolutionError(ValueError):
    """The case cannot take this step; the message says why (shown to the officer)."""


class CaseNotFound(LookupError):
    pass


class StatementKind(StrEnum):
    EXPLANATION = "explanation"  # the owner's explanation (e.g. the vehicle was taken unlawfully)
    DRIVER_IDENTIFIED = "driver_identified"  # someone else drove: the fine moves to them
    OWNER_ADMITS = "owner_admits"  # the owner drove, or cannot show that someone else did


class PersonFined(StrEnum):
    OWNER = "owner"
    DRIVER = "driver"


@dataclass(frozen=True)
class Driver:
    name: str
    id_number: str
    address: str = ""


APPOINTMENT_FROM = frozenset({Status.NOTICE_PRINTED, Status.NOTIFIED, Status.RESOLVING})
TRANSFER_FROM = frozenset({Status.FILED, Status.NOTICE_PRINTED, Status.NOTIFIED, Status.RESOLVING})


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    return case


def _move(session: Session, case: Case, **kwargs: object) -> None:
    try:
        transition(session, case, **kwargs)  # type: ignore[arg-type]
    except IllegalTransition as exc:
        raise ResolutionError(f"case {case.case_number}: {exc}") from exc


def release_hold(*, session: Session, case_id: int, actor: str, note: str, now: datetime | None = None) -> Case:
    """A case held because its camera was unhealthy may be filed once someone has looked at the
    images and says they are sound (a supervisor, at the web layer)."""
    case = _case(session, case_id)
    if not case.held_for_review:
        raise ResolutionError(f"case {case.case_number} is not held for review")
    if not note.strip():
        raise ResolutionError("say why the images can be trusted despite the camera's state")
    case.held_for_review = False
    record_event(session, case, actor=actor, at=now, reason=f"hold released ({case.hold_reason}): {note.strip()}")
    session.flush()
    return case


def book_appointment(
    *,
    session: Session,
    case_id: int,
    actor: str,
    scheduled_at: datetime,
    place: str = "",
    contact: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Ask the owner to come to the resolving unit (its address unless ``place`` is given)."""
    case = _case(session, case_id)
    now = now or datetime.now(UTC)
    if case.status not in APPOINTMENT_FROM:
        raise ResolutionError(f"case {case.case_number} is {case.status}: an appointment needs a notice")
    if scheduled_at.tzinfo is None:
        raise ResolutionError(f"expected an appointment time with a timezone, got {scheduled_at!r}")
    if scheduled_at <= now:
        raise ResolutionError(f"expected an appointment in the future, got {scheduled_at.isoformat()}")
    unit = session.get(Unit, case.resolving_unit_id) if case.resolving_unit_id else None
    where = place.strip() or (unit.address if unit else "")
    if not where:
        raise ResolutionError("the resolving unit has no address: give the place of the appointment")
    appointment = Appointment(
        case_id=case.id,
        unit_id=case.resolving_unit_id,
        scheduled_at=scheduled_at,
        place=where[:300],
        contact=contact.strip()[:200],
        status="booked",
        booked_by=actor,
        created_at=now,
    )
    session.add(appointment)
    when = scheduled_at.astimezone(VN_TZ).strftime("%H:%M, %d/%m/%Y")
    record_event(session, case, actor=actor, at=now, reason=f"appointment booked for {when} at {where}")
    session.flush()
    return appointment


def record_appearance(*, session: Session, case_id: int, actor: str, now: datetime | None = None) -> Case:
    """The owner (or their representative) came: NOTIFIED -> RESOLVING; the open appointment, if
    any, is marked attended."""
    case = _case(session, case_id)
    now = now or datetime.now(UTC)
    booked = session.scalars(
        select(Appointment).where(Appointment.case_id == case.id, Appointment.status == "booked")
    ).all()
    _move(session, case, to=Status.RESOLVING, actor=actor, reason="the owner appeared", at=now)
    for appointment in booked:
        appointment.status = "attended"
    session.flush()
    return case


def record_statement(
    *,
    session: Session,
    case_id: int,
    actor: str,
    kind: StatementKind | str,
    text: str = "",
    driver: Driver | None = None,
    pii_key: str,
    now: datetime | None = None,
) -> Statement:
    """The owner's explanation, admission, or the driver they name (name and ID number needed;
    stored encrypted). Only while RESOLVING."""
    try:
        what = StatementKind(kind)
    except ValueError as exc:
        raise ResolutionError(f"expected a statement kind in {[k.value for k in StatementKind]}, got {kind!r}") from exc
    case = _case(session, case_id)
    now = now or datetime.now(UTC)
    if case.status != Status.RESOLVING:
        raise ResolutionError(f"case {case.case_number} is {case.status}: record the owner's appearance first")
    cipher = PiiCipher(pii_key)
    statement = Statement(case_id=case.id, kind=what, text=text.strip(), recorded_by=actor, recorded_at=now)
    if what == StatementKind.DRIVER_IDENTIFIED:
        if driver is None or not driver.name.strip() or not driver.id_number.strip():
            raise ResolutionError("naming the driver needs their full name and ID number")
        statement.driver_name_enc = cipher.encrypt(driver.name.strip())
        statement.driver_id_number_enc = cipher.encrypt(driver.id_number.strip())
        statement.driver_address_enc = cipher.encrypt(driver.address.strip())
    elif driver is not None:
        raise ResolutionError(f"a {what.value} statement names no driver")
    session.add(statement)
    record_event(session, case, actor=actor, at=now, reason=f"statement recorded: {what.value}")
    session.flush()
    return statement


def _numbers(decision_id: int, on: datetime) -> tuple[str, str]:
    year = on.astimezone(VN_TZ).year
    return f"{decision_id:06d}/BB-{year}", f"{decision_id:06d}/QĐ-XPHC-{year}"


def decide(
    *,
    session: Session,
    case_id: int,
    actor: str,
    fine_vnd: int,
    payment_days: int = 10,
    now: datetime | None = None,
) -> Decision:
    """The violation record and the penalty decision: RESOLVING -> DECIDED, the fine within the
    tariff's range, against the driver the owner named (the latest such statement) or else the
    owner. The ``decision`` notice is queued by the move; payment is due in ``payment_days``."""
    case = _case(session, case_id)
    now = now or datetime.now(UTC)
    if case.status != Status.RESOLVING:
        raise ResolutionError(f"case {case.case_number} is {case.status}: a decision needs the owner's appearance")
    if case.fine_min_vnd is None or case.fine_max_vnd is None:
        raise ResolutionError(f"case {case.case_number} has no fine range from the tariff")
    if not case.fine_min_vnd <= fine_vnd <= case.fine_max_vnd:
        raise ResolutionError(
            f"expected a fine between {case.fine_min_vnd} and {case.fine_max_vnd} VND "
            f"({case.legal_reference}), got {fine_vnd}"
        )
    named = session.scalar(
        select(Statement)
        .where(Statement.case_id == case.id, Statement.kind == StatementKind.DRIVER_IDENTIFIED)
        .order_by(Statement.id.desc())
        .limit(1)
    )
    if named is not None:
        person, name_enc, id_enc = PersonFined.DRIVER, named.driver_name_enc, named.driver_id_number_enc
    else:
        owner = session.scalar(
            select(Owner).join(Vehicle, Vehicle.owner_id == Owner.id).where(Vehicle.id == case.vehicle_id)
        )
        if owner is None:
            raise ResolutionError(f"case {case.case_number}: no owner identified to fine")
        person, name_enc, id_enc = PersonFined.OWNER, owner.name_enc, owner.id_number_enc
    decision = Decision(
        case_id=case.id,
        record_number=f"pending-r-{case.id}",
        decision_number=f"pending-d-{case.id}",
        fine_vnd=fine_vnd,
        points=case.points or 0,
        person_fined=person,
        fined_name_enc=name_enc,
        fined_id_number_enc=id_enc,
        statement_id=named.id if named is not None else None,
        decided_by=actor,
        decided_at=now,
        pay_by=now + timedelta(days=payment_days),
    )
    session.add(decision)
    session.flush()
    decision.record_number, decision.decision_number = _numbers(decision.id, now)
    _move(
        session,
        case,
        to=Status.DECIDED,
        actor=actor,
        at=now,
        reason=f"record {decision.record_number}, decision {decision.decision_number}: "
        f"{fine_vnd} VND against the {person.value}",
    )
    return decision


def transfer(
    *,
    session: Session,
    case_id: int,
    actor: str,
    to_unit_name: str,
    to_unit_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Transfer:
    """The owner lives in another locality: the case, evidence attached, goes to the police there
    (the ``transfer_local`` notice is queued) and is closed here as TRANSFERRED."""
    case = _case(session, case_id)
    now = now or datetime.now(UTC)
    if case.status not in TRANSFER_FROM:
        raise ResolutionError(f"case {case.case_number} is {case.status}: it cannot be transferred")
    if to_unit_id is not None:
        unit = session.get(Unit, to_unit_id)
        if unit is None:
            raise ResolutionError(f"no unit with id {to_unit_id}")
        to_unit_name = to_unit_name or unit.name
        if to_unit_id == case.resolving_unit_id:
            raise ResolutionError("the case is already with that unit")
    if not to_unit_name.strip():
        raise ResolutionError("name the police unit the case goes to")
    record = Transfer(
        case_id=case.id,
        from_unit_id=case.resolving_unit_id,
        to_unit_id=to_unit_id,
        to_unit_name=to_unit_name.strip()[:200],
        reason=reason.strip(),
        transferred_by=actor,
        transferred_at=now,
    )
    session.add(record)
    session.flush()
    _move(
        session,
        case,
        to=Status.CLOSED,
        outcome=Outcome.TRANSFERRED,
        actor=actor,
        at=now,
        reason=f"transferred to {record.to_unit_name}" + (f": {record.reason}" if record.reason else ""),
    )
    return record


def dismiss(*, session: Session, case_id: int, actor: str, reason: str, now: datetime | None = None) -> Case:
    """Close without a penalty (e.g. the vehicle was taken unlawfully); always with a reason."""
    case = _case(session, case_id)
    if not reason.strip():
        raise ResolutionError("dismissing a case needs a reason")
    _move(session, case, to=Status.CLOSED, outcome=Outcome.DISMISSED, actor=actor, reason=reason.strip(), at=now)
    return case


def close_expired(*, session: Session, case_id: int, actor: str, now: datetime | None = None) -> Case:
    """Close a case whose one-year limitation has passed (the deadline job flagged it)."""
    case = _case(session, case_id)
    _move(
        session,
        case,
        to=Status.CLOSED,
        outcome=Outcome.EXPIRED,
        actor=actor,
        reason="limitation period of one year passed",
        at=now,
    )
    return case
