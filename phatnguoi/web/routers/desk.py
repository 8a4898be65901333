"""The resolving officer's desk: what is due (deadline flags, cases waiting for an officer, citizen
submissions to verify), one case's resolution (appointment, appearance, statement, decision,
payment request, transfer, dismissal, expiry, releasing a camera-health hold), and the payment
adapter's signed callback. Thin: every decision is a ``cases.*`` call.

Roles: officer, supervisor and admin use the desk (an officer sees their own unit's work);
dismissing a case and releasing a hold need a supervisor or an admin. The payment callback needs
no sign-in: its HMAC signature is its authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import deadlines, identification, payments, resolution, submissions
from cases.models import Appointment, AuditLog, Case, DeadlineFlag, Decision, Payment, Statement, Transfer, Unit, User
from cases.states import STATUS_VI, Status
from cases.types import FLAG_VI, VN_TZ, Role
from phatnguoi.web.deps import CsrfChecked, CurrentOfficer, CurrentSupervisor, Forbidden, SessionDep, StoreDep
from phatnguoi.web.pages import page

router = APIRouter(prefix="/desk", tags=["desk"])
MAX_IMAGE = 10 * 1024 * 1024
IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png"}


def _unit(user: User, all_units: bool) -> int | None:
    return user.unit_id if user.role == Role.OFFICER and user.unit_id and not all_units else None


def _pii_key(request: Request) -> str:
    key = request.app.state.pii_key
    if not key:
        raise resolution.ResolutionError("no personal-data key is configured for this service")
    return key


@router.get("/due")
def due_page(request: Request, session: SessionDep, user: CurrentOfficer, all_units: bool = False) -> Response:
    unit = _unit(user, all_units)
    return page(
        request,
        "desk_due.html",
        user=user,
        items=deadlines.due(session=session, unit=unit),
        waiting=identification.waiting(session=session, unit=unit, limit=100),
        submissions=submissions.pending(session=session, unit=unit, limit=100),
        now=datetime.now(UTC),
        unit_filtered=unit is not None,
        FLAG_VI=FLAG_VI,
        MATCH_VI=identification.MATCH_VI,
    )


@router.get("/cases/{case_id}")
def case_page(
    request: Request, case_id: int, session: SessionDep, user: CurrentOfficer, error: str | None = None
) -> Response:
    _own(session, user, case_id)
    case = session.get(Case, case_id)
    assert case is not None

    def rows(model: Any, order: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.case_id == case.id).order_by(order)).all())

    decision = session.scalar(select(Decision).where(Decision.case_id == case.id))
    due = payments.amount_due(session, case, at=datetime.now(UTC)) if decision is not None else None
    return page(
        request,
        "desk_case.html",
        user=user,
        case=case,
        error=error,
        status_vi=STATUS_VI.get(Status(case.status), case.status),
        flags=rows(DeadlineFlag, DeadlineFlag.id),
        appointments=rows(Appointment, Appointment.id),
        statements=rows(Statement, Statement.id),
        decision=decision,
        due=due,
        payments=rows(Payment, Payment.id),
        transfers=rows(Transfer, Transfer.id),
        audit=rows(AuditLog, AuditLog.id),
        units=session.scalars(select(Unit).order_by(Unit.name)).all(),
        statement_kinds=list(resolution.StatementKind),
        FLAG_VI=FLAG_VI,
        supervisor=user.role in (Role.SUPERVISOR, Role.ADMIN),
    )


def _own(session: Session, user: User, case_id: int) -> None:
    """An officer of a unit works that unit's cases (detected or resolved there); supervisors and
    admins, and officers without a unit, work all. 404 for an unknown case."""
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=f"no case with id {case_id}")
    if (
        user.role == Role.OFFICER
        and user.unit_id
        and user.unit_id not in (case.resolving_unit_id, case.detecting_unit_id)
    ):
        raise Forbidden(f"case {case.case_number} belongs to another unit")


def _act(session: Session, user: User, case_id: int, action: Callable[[], object]) -> Response:
    """Run one step: commit and show the case, or roll back and show the error on it."""
    _own(session, user, case_id)
    try:
        action()
    except resolution.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except (resolution.ResolutionError, payments.PaymentError) as exc:
        session.rollback()
        return RedirectResponse(f"/desk/cases/{case_id}?error={quote(str(exc))}", status_code=303)
    session.commit()
    return RedirectResponse(f"/desk/cases/{case_id}", status_code=303)


def _parse_local(value: str) -> datetime:
    """``2026-03-20T09:30`` from a datetime-local field, in Vietnam time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise resolution.ResolutionError(f"expected a date and time like 2026-03-20T09:30, got {value!r}") from exc
    return moment.replace(tzinfo=VN_TZ) if moment.tzinfo is None else moment


@router.post("/cases/{case_id}/release-hold")
def release_hold(
    case_id: int, session: SessionDep, user: CurrentSupervisor, _csrf: CsrfChecked, note: Annotated[str, Form()] = ""
) -> Response:
    return _act(
        session,
        user,
        case_id,
        lambda: resolution.release_hold(session=session, case_id=case_id, actor=user.username, note=note),
    )


@router.post("/cases/{case_id}/appointment")
def book(
    case_id: int,
    session: SessionDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    scheduled_at: Annotated[str, Form()],
    place: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        session,
        user,
        case_id,
        lambda: resolution.book_appointment(
            session=session,
            case_id=case_id,
            actor=user.username,
            scheduled_at=_parse_local(scheduled_at),
            place=place,
            contact=contact,
        ),
    )


@router.post("/cases/{case_id}/appear")
def appear(case_id: int, session: SessionDep, user: CurrentOfficer, _csrf: CsrfChecked) -> Response:
    return _act(
        session,
        user,
        case_id,
        lambda: resolution.record_appearance(session=session, case_id=case_id, actor=user.username),
    )


@router.post("/cases/{case_id}/statement")
def statement(
    request: Request,
    case_id: int,
    session: SessionDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    kind: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
    driver_name: Annotated[str, Form()] = "",
    driver_id_number: Annotated[str, Form()] = "",
    driver_address: Annotated[str, Form()] = "",
) -> Response:
    def act() -> object:
        driver = (
            resolution.Driver(driver_name, driver_id_number, driver_address)
            if kind == resolution.StatementKind.DRIVER_IDENTIFIED
            else None
        )
        return resolution.record_statement(
            session=session,
            case_id=case_id,
            actor=user.username,
            kind=kind,
            text=text,
            driver=driver,
            pii_key=_pii_key(request),
        )

    return _act(session, user, case_id, act)


@router.post("/cases/{case_id}/decision")
def decide(
    request: Request,
    case_id: int,
    session: SessionDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    fine_vnd: Annotated[int, Form()],
) -> Response:
    days = request.app.state.payment_days
    return _act(
        session,
        user,
        case_id,
        lambda: resolution.decide(
            session=session, case_id=case_id, actor=user.username, fine_vnd=fine_vnd, payment_days=days
        ),
    )


@router.post("/cases/{case_id}/payment-request")
def payment_request(
    request: Request, case_id: int, session: SessionDep, user: CurrentOfficer, _csrf: CsrfChecked
) -> Response:
    _own(session, user, case_id)
    gateway = payments.make_gateway("sim", request.app.state.payment_callback_secret)
    try:
        ask = payments.request_payment(session=session, case_id=case_id, gateway=gateway)
    except payments.PaymentError as exc:
        return RedirectResponse(f"/desk/cases/{case_id}?error={quote(str(exc))}", status_code=303)
    return JSONResponse(
        {
            "provider": ask.provider,
            "reference": ask.reference,
            "case_number": ask.case_number,
            "amount_vnd": ask.amount_vnd,
            "pay_url": ask.pay_url,
        }
    )


@router.post("/cases/{case_id}/transfer")
def transfer(
    case_id: int,
    session: SessionDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    to_unit_name: Annotated[str, Form()] = "",
    to_unit_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    target = int(to_unit_id) if to_unit_id.strip().isdigit() else None
    return _act(
        session,
        user,
        case_id,
        lambda: resolution.transfer(
            session=session,
            case_id=case_id,
            actor=user.username,
            to_unit_name=to_unit_name,
            to_unit_id=target,
            reason=reason,
        ),
    )


@router.post("/cases/{case_id}/dismiss")
def dismiss(
    case_id: int,
    session: SessionDep,
    user: CurrentSupervisor,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        session,
        user,
        case_id,
        lambda: resolution.dismiss(session=session, case_id=case_id, actor=user.username, reason=reason),
    )


@router.post("/cases/{case_id}/expire")
def expire(case_id: int, session: SessionDep, user: CurrentOfficer, _csrf: CsrfChecked) -> Response:
    return _act(
        session, user, case_id, lambda: resolution.close_expired(session=session, case_id=case_id, actor=user.username)
    )


# --- citizen submissions --------------------------------------------------------------------------


@router.get("/submissions")
def submissions_page(
    request: Request, session: SessionDep, user: CurrentOfficer, error: str | None = None, all_units: bool = False
) -> Response:
    unit = _unit(user, all_units)
    return page(
        request,
        "desk_submissions.html",
        user=user,
        error=error,
        pending=submissions.pending(session=session, unit=unit),
        channels=list(submissions.Channel),
        now=datetime.now(UTC),
    )


def _image(store: StoreDep, upload: UploadFile | None, role: str) -> submissions.SubmittedImage | None:
    if upload is None or not upload.filename:
        return None
    data = upload.file.read(MAX_IMAGE + 1)
    if len(data) > MAX_IMAGE:
        raise submissions.SubmissionError(f"image {upload.filename!r}: larger than {MAX_IMAGE // 2**20} MB")
    kind = next((t for magic, t in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise submissions.SubmissionError(f"image {upload.filename!r}: expected a JPEG or PNG file")
    sha = store.put(data, content_type=kind)
    return submissions.SubmittedImage(role=role, sha256=sha, key=sha)


@router.post("/submissions")
def submit(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    channel: Annotated[str, Form()],
    submitter_name: Annotated[str, Form()],
    plate_text: Annotated[str, Form()],
    vehicle_class: Annotated[str, Form()],
    rule: Annotated[str, Form()],
    place: Annotated[str, Form()],
    occurred_at: Annotated[str, Form()],
    image_at: Annotated[UploadFile, File()],
    submitter_contact: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    complex_case: Annotated[bool, Form()] = False,
    image_other: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        images = [i for i in (_image(store, image_at, "at"), _image(store, image_other, "before")) if i]
        submissions.submit(
            session=session,
            channel=channel,
            submitter_name=submitter_name,
            submitter_contact=submitter_contact,
            plate_text=plate_text,
            vehicle_class=vehicle_class,
            rule=rule,
            place=place,
            occurred_at=_parse_local(occurred_at),
            images=images,
            pii_key=_pii_key(request),
            description=description,
            unit_id=user.unit_id,
            complex_case=complex_case,
        )
    except (submissions.SubmissionError, resolution.ResolutionError, ValueError) as exc:
        session.rollback()
        return RedirectResponse(f"/desk/submissions?error={quote(str(exc))}", status_code=303)
    session.commit()
    return RedirectResponse("/desk/submissions", status_code=303)


def _submission_act(session: Session, action: Callable[[], object], done: Callable[[object], str]) -> Response:
    try:
        result = action()
    except submissions.SubmissionError as exc:
        session.rollback()
        return RedirectResponse(f"/desk/submissions?error={quote(str(exc))}", status_code=303)
    session.commit()
    return RedirectResponse(done(result), status_code=303)


@router.post("/submissions/{submission_id}/verify")
def verify(submission_id: int, session: SessionDep, user: CurrentOfficer, _csrf: CsrfChecked) -> Response:
    return _submission_act(
        session,
        lambda: submissions.verify(session=session, submission_id=submission_id, actor=user.username),
        lambda case: f"/police/cases/{case.id}",  # type: ignore[attr-defined]
    )


@router.post("/submissions/{submission_id}/refuse")
def refuse(
    submission_id: int,
    session: SessionDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _submission_act(
        session,
        lambda: submissions.refuse(session=session, submission_id=submission_id, actor=user.username, reason=reason),
        lambda _s: "/desk/submissions",
    )


# --- the payment adapter's callback ---------------------------------------------------------------


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post("/payments/callback")
def payment_callback(request: Request, session: SessionDep, body: Annotated[bytes, Depends(_raw_body)]) -> Response:
    """A payment provider reports a payment. Authenticated by its HMAC signature only: a forged or
    altered callback is refused with 403 and audited; a replay of a genuine one is answered 200
    and changes nothing. Not async (the raw body comes from a dependency): FastAPI runs it on a
    worker thread, so a wait for SQLite's write lock never blocks the event loop."""
    signature = request.headers.get(payments.SIGNATURE_HEADER)
    secret = request.app.state.payment_callback_secret
    try:
        paid, created = payments.handle_callback(session=session, body=body, signature=signature, secret=secret)
    except payments.ForgedCallback as exc:
        session.commit()  # only the audit row of the refusal
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
    except payments.PaymentError as exc:
        session.rollback()
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
    session.commit()
    case = session.get(Case, paid.case_id)
    return JSONResponse(
        {
            "payment_id": paid.id,
            "created": created,
            "case_status": case.status if case else None,
            "outcome": case.outcome if case else None,
        }
    )
