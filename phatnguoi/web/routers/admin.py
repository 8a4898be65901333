"""Admin pages: user accounts (create with a generated password shown once, deactivate), the
registered cameras (disable / enable: a disabled camera's new cases are held for review) and the
fine tariff (read-only: a new version is data, added to ``cases/tariff.yaml`` and reviewed like
code). No account is ever created with a default password; every change is written to the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload

from cases.accounts import AccountError, create_user
from cases.models import AuditLog, Camera, CameraStatus, Unit, User
from cases.tariff import TARIFF_FILE, Bracket, Tariff, TariffError, legal_reference, load_tariffs
from cases.types import VN_TZ, Role
from detection.types import Rule
from ingest.health import VERDICT_VI, Verdict
from phatnguoi.web.deps import CsrfChecked, CurrentAdmin, SessionDep
from phatnguoi.web.pages import page
from phatnguoi.web.routers.police import RULE_VI

router = APIRouter(prefix="/admin", tags=["admin"])


def _users_page(request: Request, session: SessionDep, user: User, *, status_code: int = 200,
                error: str | None = None, created: tuple[str, str] | None = None) -> Response:
    users = session.scalars(select(User).order_by(User.role, User.username)).all()
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    return page(request, "admin_users.html", status_code=status_code, user=user, users=users, units=units,
                roles=list(Role), error=error, created=created)


@router.get("/users")
def users_page(request: Request, session: SessionDep, user: CurrentAdmin) -> Response:
    return _users_page(request, session, user)


@router.post("/users")
def add_user(
    request: Request, session: SessionDep, user: CurrentAdmin, _csrf: CsrfChecked,
    username: Annotated[str, Form()], role: Annotated[str, Form()], unit: Annotated[str, Form()] = "",
) -> Response:
    """Create an account with a generated password, shown once on the answer page."""
    try:
        created, password = create_user(session, username=username, role=role, unit_code=unit or None)
    except AccountError as exc:
        session.rollback()
        return _users_page(request, session, user, status_code=422, error=str(exc))
    session.add(AuditLog(actor=user.username, reason=f"created {created.role} account {created.username!r}"))
    session.commit()
    return _users_page(request, session, user, created=(created.username, password))


@router.post("/users/{user_id}/deactivate")
def deactivate(user_id: int, session: SessionDep, user: CurrentAdmin, _csrf: CsrfChecked) -> Response:
    target = session.get(User, user_id)
    if target is None:
        raise HTTPException(status_code=404, detail=f"no user {user_id}")
    if target.id == user.id:
        raise HTTPException(status_code=409, detail="you cannot deactivate your own account")
    target.active = False
    session.add(AuditLog(actor=user.username, reason=f"deactivated account {target.username!r}"))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


# --- cameras: the registered cameras, disable / enable ---------------------------------------------


@dataclass(frozen=True)
class CameraRow:
    """One camera as the admin sees it: the database row and/or its configuration file."""

    id: str
    name: str
    address: str
    unit: str
    gps: tuple[float, float] | None
    rules: list[str]
    verdict: str
    verdict_vi: str
    disabled: bool
    disabled_reason: str | None


def configured_rules(config: Any) -> list[str]:
    """The rules a camera's configuration lets the detector judge (``detection.rules`` needs a
    stop line and a signal for red light, a timed segment for speed, lanes for direction and
    lane, zones for stopping)."""
    rules = []
    if config.stop_line is not None and config.signal is not None:
        rules.append(Rule.RED_LIGHT)
    if config.speed is not None:
        rules.append(Rule.SPEEDING)
    if config.lanes:
        rules += [Rule.WRONG_WAY, Rule.WRONG_LANE]
    if config.no_stopping:
        rules.append(Rule.NO_STOPPING)
    return [str(r) for r in rules]


def camera_rows(session: Session, configs: Mapping[str, Any], now: datetime) -> list[CameraRow]:
    cameras = {c.id: c for c in session.scalars(select(Camera).options(selectinload(Camera.unit)))}
    statuses = {s.camera_id: s for s in session.scalars(select(CameraStatus).options(defer(CameraStatus.preview_jpeg)))}
    rows = []
    for camera_id in sorted(set(cameras) | set(configs) | set(statuses)):
        db, config, status = cameras.get(camera_id), configs.get(camera_id), statuses.get(camera_id)
        if status is None:
            verdict, verdict_vi = "unknown", "Chưa có dữ liệu"
        else:
            judged = Verdict(status.effective_verdict(now))
            verdict, verdict_vi = str(judged), VERDICT_VI[judged]
        unit = db.unit.code if db is not None and db.unit is not None else (config.unit.code if config else "")
        rows.append(CameraRow(
            id=camera_id, name=db.name if db else (config.name if config else camera_id),
            address=db.address if db else (config.address if config else ""), unit=unit,
            gps=(config.gps.lat, config.gps.lon) if config else None,
            rules=configured_rules(config) if config else [],
            verdict=verdict, verdict_vi=verdict_vi,
            disabled=bool(status and status.disabled), disabled_reason=status.disabled_reason if status else None,
        ))
    return rows


def _known_camera(request: Request, session: Session, camera_id: str) -> None:
    if session.get(Camera, camera_id) is None and camera_id not in request.app.state.camera_configs:
        raise HTTPException(status_code=404, detail=f"no camera {camera_id!r}")


@router.get("/cameras")
def cameras_page(request: Request, session: SessionDep, user: CurrentAdmin, error: str | None = None) -> Response:
    rows = camera_rows(session, request.app.state.camera_configs, datetime.now(UTC))
    return page(request, "admin_cameras.html", user=user, cameras=rows, error=error, rule_vi=RULE_VI)


@router.post("/cameras/{camera_id}/disable")
def disable_camera(
    request: Request, camera_id: str, session: SessionDep, user: CurrentAdmin, _csrf: CsrfChecked,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Switch a camera off: its new detections become cases held for review (intake reads
    ``CameraStatus.holds_new_cases``) until an admin switches it back on. A reason is required."""
    _known_camera(request, session, camera_id)
    reason = reason.strip()
    if not reason:
        return RedirectResponse(f"/admin/cameras?error={quote('Cần ghi lý do tắt camera.')}", status_code=303)
    status = session.get(CameraStatus, camera_id)
    if status is None:  # never seen by the detection worker: the row carries the switch alone
        status = CameraStatus(camera_id=camera_id)
        session.add(status)
    status.disabled, status.disabled_reason = True, reason[:200]
    session.add(AuditLog(actor=user.username, reason=f"disabled camera {camera_id}: {reason}"))
    session.commit()
    return RedirectResponse("/admin/cameras", status_code=303)


@router.post("/cameras/{camera_id}/enable")
def enable_camera(
    request: Request, camera_id: str, session: SessionDep, user: CurrentAdmin, _csrf: CsrfChecked,
) -> Response:
    _known_camera(request, session, camera_id)
    status = session.get(CameraStatus, camera_id)
    if status is not None and status.disabled:
        if status.last_frame_at is None and status.preview_jpeg is None:
            session.delete(status)  # the switch was all it held: back to "never seen" (nothing held)
        else:
            status.disabled, status.disabled_reason = False, None
        session.add(AuditLog(actor=user.username, reason=f"enabled camera {camera_id}"))
        session.commit()
    return RedirectResponse("/admin/cameras", status_code=303)


# --- tariff: read-only ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TariffRow:
    rule: str
    behaviour: str
    vehicle: str
    bracket: str
    fine: tuple[int, int]
    points: int
    reference: str


def _bracket(b: Bracket) -> str:
    low = f"{'≥' if b.from_inclusive else '>'} {b.over_from:g}"
    if b.over_to is None:
        return f"vượt {low} km/h"
    return f"vượt {low} và {'≤' if b.to_inclusive else '<'} {b.over_to:g} km/h"


def tariff_rows(tariff: Tariff) -> list[TariffRow]:
    rows = []
    for rule, entry in tariff.rules.items():
        for vehicle in ("car", "motorbike"):
            lines = getattr(entry, vehicle)
            if lines is None:
                continue
            for line in lines if isinstance(lines, list) else [lines]:
                rows.append(TariffRow(
                    rule=rule, behaviour=entry.behaviour_vi, vehicle=vehicle,
                    bracket=_bracket(line) if isinstance(line, Bracket) else "",
                    fine=(line.min, line.max), points=line.points,
                    reference=legal_reference(line.ref, tariff.decree),
                ))
    return rows


@router.get("/tariff")
def tariff_page(request: Request, user: CurrentAdmin) -> Response:
    """The tariff versions in ``cases/tariff.yaml``, read-only: a new decree is a new version added
    to that file (with its effective dates) and reviewed like code, never edited on a web page."""
    try:
        tariffs = load_tariffs(TARIFF_FILE)
        error = None
    except TariffError as exc:
        tariffs, error = [], str(exc)
    today = datetime.now(VN_TZ).date()
    versions = [(t, t.in_force(today), tariff_rows(t)) for t in tariffs]
    return page(request, "admin_tariff.html", user=user, versions=versions, error=error,
                path="cases/tariff.yaml", vehicle_vi={"car": "Ô tô", "motorbike": "Mô tô, xe máy"})
