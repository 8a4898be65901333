"""Police pages: sign-in, the review queue, one case with its evidence, approve / reject, the
notice PDF, evidence images. Thin: every decision is a ``cases.review`` call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import review
from cases.accounts import AccountLocked, LoginFailed, authenticate
from cases.models import AuditLog, Notice
from cases.tariff import TariffError, behaviour
from cases.types import VN_TZ, RejectReason, Role
from detection.evidence_store import EvidenceTampered
from phatnguoi.web.deps import CsrfChecked, CurrentOfficer, SessionDep, StoreDep
from phatnguoi.web.pages import page
from phatnguoi.web.security import sign_in, sign_out

router = APIRouter(prefix="/police", tags=["police"])


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/police/"


def rule_label(rule: str, occurred_at: datetime) -> str:
    try:
        return behaviour(rule, on=occurred_at.astimezone(VN_TZ).date())[0]
    except TariffError:
        return rule


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    _csrf: CsrfChecked,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/police/",
) -> Response:
    try:
        user = authenticate(session, username=username, password=password)
    except AccountLocked as exc:
        session.commit()
        until = exc.until.astimezone(VN_TZ).strftime("%H:%M, %d/%m/%Y")
        return page(
            request,
            "login.html",
            status_code=423,
            next=_safe_next(next),
            error=f"Tài khoản tạm khóa do đăng nhập sai nhiều lần, thử lại sau {until}.",
        )
    except LoginFailed:
        session.commit()
        return page(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error="Sai tên đăng nhập hoặc mật khẩu.",
        )
    session.commit()
    sign_in(request, user.id)
    target = "/operator/" if user.role == Role.OPERATOR else _safe_next(next)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, _csrf: CsrfChecked) -> Response:
    sign_out(request)
    return RedirectResponse("/police/login", status_code=303)


@router.get("/")
def queue_page(
    request: Request, session: SessionDep, user: CurrentOfficer, all_units: bool = False
) -> Response:
    unit = user.unit_id if user.role == Role.OFFICER and user.unit_id and not all_units else None
    cases = review.queue(session=session, unit=unit, limit=100)
    rows = [
        (c, next((e for e in c.evidence if e.role == "at"), None), rule_label(c.rule, c.occurred_at))
        for c in cases
    ]
    return page(request, "police_queue.html", user=user, rows=rows, unit_filtered=unit is not None)


@router.get("/cases/{case_id}")
def case_page(
    request: Request, case_id: int, session: SessionDep, user: CurrentOfficer, error: str | None = None
) -> Response:
    try:
        case = review.get(session=session, case_id=case_id)
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    audit = session.scalars(select(AuditLog).where(AuditLog.case_id == case.id).order_by(AuditLog.id)).all()
    return page(
        request,
        "police_case.html",
        user=user,
        case=case,
        audit=audit,
        error=error,
        rule=rule_label(case.rule, case.occurred_at),
        reasons=list(RejectReason),
    )


def _back(case_id: int, error: str | None = None) -> RedirectResponse:
    from urllib.parse import quote

    suffix = f"?error={quote(error)}" if error else ""
    return RedirectResponse(f"/police/cases/{case_id}{suffix}", status_code=303)


def _act(session: Session, case_id: int, action: Callable[[], object]) -> Response:
    """Run one review action: commit and go back to the queue, or roll back and show the error
    on the case page (404 for an unknown case)."""
    try:
        action()
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except review.ReviewError as exc:
        session.rollback()
        return _back(case_id, str(exc))
    session.commit()
    return RedirectResponse("/police/", status_code=303)


@router.post("/cases/{case_id}/approve")
def approve(
    case_id: int,
    session: SessionDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    plate: Annotated[str, Form()] = "",
) -> Response:
    return _act(session, case_id, lambda: review.approve(
        session=session, case_id=case_id, actor=user.username, plate=plate.strip() or None))


@router.post("/cases/{case_id}/reject")
def reject(
    case_id: int,
    session: SessionDep,
    user: CurrentOfficer,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    return _act(session, case_id, lambda: review.reject(
        session=session, case_id=case_id, actor=user.username, reason=reason, note=note.strip()))


@router.get("/notices/{notice_id}.pdf")
def notice_pdf(notice_id: int, session: SessionDep, store: StoreDep, user: CurrentOfficer) -> Response:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise HTTPException(status_code=404, detail=f"no notice {notice_id}")
    return Response(
        store.get(notice.pdf_sha256),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{notice.case.case_number}.pdf"'},
    )


@router.get("/evidence/{sha256}")
def evidence(sha256: str, store: StoreDep, user: CurrentOfficer) -> Response:
    return evidence_response(store, sha256)


def evidence_response(store: StoreDep, sha256: str) -> Response:
    try:
        data = store.get(sha256)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"no evidence {sha256}") from exc
    except EvidenceTampered as exc:
        raise HTTPException(status_code=409, detail=f"evidence {sha256} fails its integrity check") from exc
    content_type = getattr(store, "content_type", lambda _k: "image/jpeg")(sha256)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=86400"})
