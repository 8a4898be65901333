"""Police pages: sign-in, the review queue (filtered, keyboard-driven), one case with its
evidence viewer, approve / reject / correct the plate, search, the notice PDF, evidence images.
Thin: every decision is a ``cases.review`` call.

Keys (static/keys.js): on the queue j/k move, Enter opens; on a case a approves, r rejects (the
reason list takes focus), c corrects the plate, n or j opens the next case, k the previous.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cases import review
from cases.accounts import AccountLocked, LoginFailed, authenticate
from cases.models import AuditLog, Camera, Case, Notice, Unit, User
from cases.states import Status
from cases.tariff import TariffError, behaviour
from cases.types import VN_TZ, RejectReason, Role
from detection.evidence_store import EvidenceTampered
from detection.types import Rule
from phatnguoi.web.camera_map import camera_map
from phatnguoi.web.deps import CsrfChecked, CurrentOfficer, Forbidden, SessionDep, StoreDep
from phatnguoi.web.pages import page
from phatnguoi.web.security import sign_in, sign_out

router = APIRouter(prefix="/police", tags=["police"])

QUEUE_LIMIT = 50  # the nearest deadlines; an officer works down from the top
SEARCH_PAGE = 50
CONFIDENCE_BANDS = {"low": (None, 0.6), "mid": (0.6, 0.85), "high": (0.85, None)}
EVIDENCE_ORDER = ("before", "at", "after")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/police/"


def rule_label(rule: str, occurred_at: datetime) -> str:
    try:
        return behaviour(rule, on=occurred_at.astimezone(VN_TZ).date())[0]
    except TariffError:
        return rule


RULE_VI: dict[str, str] = {
    Rule.RED_LIGHT: "Vượt đèn đỏ",
    Rule.SPEEDING: "Quá tốc độ",
    Rule.WRONG_WAY: "Đi ngược chiều",
    Rule.WRONG_LANE: "Sai làn đường",
    Rule.NO_STOPPING: "Dừng đỗ sai quy định",
}


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
        return page(request, "login.html", status_code=423, next=_safe_next(next),
                    error=f"Tài khoản tạm khóa do đăng nhập sai nhiều lần, thử lại sau {until}.")
    except LoginFailed:
        session.commit()
        return page(request, "login.html", status_code=401, next=_safe_next(next),
                    error="Sai tên đăng nhập hoặc mật khẩu.")
    session.commit()
    sign_in(request, user.id)
    landing = {Role.OPERATOR: "/operator/", Role.ADMIN: _safe_next(next)}
    target = landing.get(Role(user.role), _safe_next(next))
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, _csrf: CsrfChecked) -> Response:
    sign_out(request)
    return RedirectResponse("/police/login", status_code=303)


def _queue_filter(user_unit: int | None, camera: str, rule: str, unit: str, confidence: str) -> review.CaseFilter:
    low, high = CONFIDENCE_BANDS.get(confidence, (None, None))
    chosen_unit = int(unit) if unit.isdigit() else user_unit
    return review.CaseFilter(status=Status.EXTRACTED, camera=camera or None, rule=rule or None, unit=chosen_unit,
                             min_confidence=low, max_confidence=high)


def _own_unit(user: object, all_units: bool) -> int | None:
    role, unit_id = getattr(user, "role", None), getattr(user, "unit_id", None)
    return unit_id if role == Role.OFFICER and unit_id and not all_units else None


@router.get("/")
def queue_page(
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    camera: str = "",
    rule: str = "",
    unit: str = "",
    confidence: str = "",
    all_units: bool = False,
) -> Response:
    own = _own_unit(user, all_units)
    where = _queue_filter(own, camera, rule, unit, confidence)
    cases, total = review.find(session=session, where=where, order="deadline", limit=QUEUE_LIMIT)
    rows = [(c, next((e for e in c.evidence if e.role == "at"), None), RULE_VI.get(c.rule, c.rule)) for c in cases]
    return page(
        request, "police_queue.html", user=user, rows=rows, total=total, unit_filtered=own is not None,
        cameras=session.execute(select(Camera.id, Camera.name).order_by(Camera.id)).all(),
        units=session.execute(select(Unit.id, Unit.name).order_by(Unit.name)).all(),
        rules=RULE_VI, bands={"low": "Thấp (< 60%)", "mid": "Trung bình (60–85%)", "high": "Cao (≥ 85%)"},
        chosen={"camera": camera, "rule": rule, "unit": unit, "confidence": confidence},
        now=datetime.now(VN_TZ),
    )


def _neighbours(session: Session, case: Case) -> tuple[int | None, int | None]:
    """The previous and next case of the review queue around ``case`` (deadline order)."""
    if case.status != Status.EXTRACTED:
        first = session.scalar(select(Case.id).where(Case.status == Status.EXTRACTED)
                               .order_by(Case.notify_by, Case.id).limit(1))
        return None, first
    key, ident = case.notify_by, case.id
    later = (Case.notify_by > key) | ((Case.notify_by == key) & (Case.id > ident))
    earlier = (Case.notify_by < key) | ((Case.notify_by == key) & (Case.id < ident))
    after = session.scalar(select(Case.id).where(Case.status == Status.EXTRACTED, later)
                           .order_by(Case.notify_by, Case.id).limit(1))
    before = session.scalar(select(Case.id).where(Case.status == Status.EXTRACTED, earlier)
                            .order_by(Case.notify_by.desc(), Case.id.desc()).limit(1))
    return before, after


@router.get("/cases/{case_id}")
def case_page(
    request: Request, case_id: int, session: SessionDep, user: CurrentOfficer, error: str | None = None,
    done: str | None = None,
) -> Response:
    try:
        case = review.get(session=session, case_id=case_id)
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    audit = session.scalars(select(AuditLog).where(AuditLog.case_id == case.id).order_by(AuditLog.id)).all()
    by_role: dict[str, list[str]] = {}
    for e in case.evidence:
        by_role.setdefault(e.role, []).append(e.sha256)
    frames = [(role, by_role[role][0]) for role in EVIDENCE_ORDER if role in by_role]
    extra = [(role, sha) for role, shas in by_role.items() if role not in EVIDENCE_ORDER
             and not role.endswith("_public") for sha in shas]
    positions = request.app.state.camera_positions
    previous, following = _neighbours(session, case)
    assignable = None
    if user.role in (Role.SUPERVISOR, Role.ADMIN) and case.status not in (Status.REJECTED, Status.CLOSED):
        assignable = (
            session.scalars(select(User).where(User.active, User.role.in_([Role.OFFICER, Role.SUPERVISOR]))
                            .options(selectinload(User.unit)).order_by(User.username)).all(),
            session.scalars(select(Unit).order_by(Unit.code)).all(),
        )
    return page(
        request, "police_case.html", user=user, case=case, audit=audit, error=error, done=done,
        rule=rule_label(case.rule, case.occurred_at), frames=frames, extra=extra,
        reasons=list(RejectReason), correction=review.latest_correction(session=session, case_id=case.id),
        blocked=review.notice_blocked(session=session, case_id=case.id),
        map_svg=camera_map(positions, case.camera_id), gps=positions.get(case.camera_id),
        previous=previous, following=following, assignable=assignable,
        candidates=sorted(case.plate_candidates or [], key=lambda c: -float(c.get("confidence", 0))),
    )


def _back(case_id: int, error: str | None = None) -> RedirectResponse:
    suffix = f"?error={quote(error)}" if error else ""
    return RedirectResponse(f"/police/cases/{case_id}{suffix}", status_code=303)


def _own_case(session: Session, user: User, case_id: int) -> None:
    """An officer decides the cases of their own unit, and those a supervisor assigned to them
    (supervisors and admins any case)."""
    if user.role != Role.OFFICER or user.unit_id is None:
        return
    row = session.execute(select(Case.detecting_unit_id, Case.assigned_to_id).where(Case.id == case_id)).first()
    if row is None or row.assigned_to_id == user.id:
        return
    unit = row.detecting_unit_id
    if unit is not None and unit != user.unit_id:
        raise Forbidden("this case belongs to another unit: ask its officers or a supervisor")


def _act(session: Session, case_id: int, action: Callable[[], Case], done: str) -> Response:
    """Run one review action: commit and open the next case of the queue (keyboard flow) with
    "``done`` <case number>" as its message, or roll back and show the error on the case page
    (404 for an unknown case)."""
    try:
        case = action()
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except review.ReviewError as exc:
        session.rollback()
        return _back(case_id, str(exc))
    message = f"{done} {case.case_number}"  # read before the commit, which may expire the row
    session.commit()
    following = session.scalar(select(Case.id).where(Case.status == Status.EXTRACTED)
                               .order_by(Case.notify_by, Case.id).limit(1))
    target = f"/police/cases/{following}" if following else "/police/"
    return RedirectResponse(f"{target}?{urlencode({'done': message})}", status_code=303)


@router.post("/cases/{case_id}/approve")
def approve(
    case_id: int, session: SessionDep, user: CurrentOfficer, _csrf: CsrfChecked,
    plate: Annotated[str, Form()] = "",
) -> Response:
    _own_case(session, user, case_id)
    return _act(session, case_id, lambda: review.approve(
        session=session, case_id=case_id, actor=user.username, plate=plate.strip() or None),
        done="Đã duyệt")


@router.post("/cases/{case_id}/reject")
def reject(
    case_id: int, session: SessionDep, user: CurrentOfficer, _csrf: CsrfChecked,
    reason: Annotated[str, Form()], note: Annotated[str, Form()] = "",
) -> Response:
    _own_case(session, user, case_id)
    return _act(session, case_id, lambda: review.reject(
        session=session, case_id=case_id, actor=user.username, reason=reason, note=note.strip()),
        done="Đã loại")


@router.post("/cases/{case_id}/correct")
def correct(
    case_id: int, session: SessionDep, user: CurrentOfficer, _csrf: CsrfChecked,
    plate: Annotated[str, Form()], note: Annotated[str, Form()] = "",
) -> Response:
    """Propose another plate for a filed case whose notice has not gone out."""
    _own_case(session, user, case_id)
    try:
        review.correct_plate(session=session, case_id=case_id, actor=user.username, plate=plate, note=note.strip())
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except review.ReviewError as exc:
        session.rollback()
        return _back(case_id, str(exc))
    session.commit()
    return RedirectResponse(f"/police/cases/{case_id}", status_code=303)


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from exc


@router.get("/search")
def search_page(
    request: Request, session: SessionDep, user: CurrentOfficer,
    plate: str = "", case_number: str = "", date_from: str = "", date_to: str = "", status: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    results, total, error = None, 0, None
    q = {"plate": plate, "case_number": case_number, "date_from": date_from, "date_to": date_to, "status": status}
    if any(q.values()):
        try:
            where = review.CaseFilter(plate=plate or None, case_number=case_number or None, status=status or None,
                                      date_from=_date(date_from, "từ ngày"), date_to=_date(date_to, "đến ngày"))
            results, total = review.find(session=session, where=where, order="newest", limit=SEARCH_PAGE,
                                         offset=(page_no - 1) * SEARCH_PAGE, with_evidence=False)
        except ValueError as exc:
            error = str(exc)
    more = urlencode({**q, "page": page_no + 1}) if results and page_no * SEARCH_PAGE < total else None
    return page(request, "police_search.html", user=user, results=results, total=total, error=error, q=q,
                statuses=list(Status), rules=RULE_VI, page_no=page_no, more=more, first=(page_no - 1) * SEARCH_PAGE)


@router.get("/notices/{notice_id}.pdf")
def notice_pdf(notice_id: int, session: SessionDep, store: StoreDep, user: CurrentOfficer) -> Response:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise HTTPException(status_code=404, detail=f"no notice {notice_id}")
    blocked = review.notice_blocked(session=session, case_id=notice.case_id)
    if blocked:
        raise HTTPException(status_code=409, detail=f"notice withheld: {blocked}")
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
