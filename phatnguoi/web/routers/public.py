"""Public pages: the lookup by plate and vehicle type (no personal data), the evidence images of
published cases, and the notice verification page behind the QR code."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from cases import plates
from cases.models import Notice
from cases.publication import evidence_is_public, lookup, penalty_status
from cases.states import STATUS_VI, Status
from cases.types import LookupVehicleType, format_vn_time
from notices.tokens import BadNoticeToken, verify_token
from phatnguoi.web.deps import SessionDep, StoreDep
from phatnguoi.web.pages import page
from phatnguoi.web.routers.police import evidence_response

router = APIRouter(tags=["public"])

VEHICLE_TYPES_VI = {
    LookupVehicleType.CAR: "Ô tô",
    LookupVehicleType.MOTORBIKE: "Xe máy",
    LookupVehicleType.ELECTRIC: "Xe máy điện",
}


def check_lookup(plate: str, vehicle_type: str) -> tuple[str, LookupVehicleType]:
    """Validate the two lookup inputs; ``ValueError`` with a message for the person typing."""
    key = plates.normalize(plate)
    if not plates.is_valid(key):
        raise ValueError(f"Biển số không hợp lệ: {plate!r}")
    try:
        return key, LookupVehicleType(vehicle_type)
    except ValueError as exc:
        raise ValueError(f"Loại phương tiện không hợp lệ: {vehicle_type!r}") from exc


@router.get("/lookup")
def lookup_page(
    request: Request, session: SessionDep, plate: str = "", vehicle_type: str = "car"
) -> Response:
    results, error = None, None
    if plate:
        try:
            key, vtype = check_lookup(plate, vehicle_type)
            results = lookup(session=session, plate=key, vehicle_type=vtype)
        except ValueError as exc:
            error = str(exc)
    return page(
        request,
        "public_lookup.html",
        plate=plate,
        vehicle_type=vehicle_type,
        results=results,
        error=error,
        vehicle_types=VEHICLE_TYPES_VI,
    )


@router.get("/public/evidence/{sha256}")
def public_evidence(sha256: str, session: SessionDep, store: StoreDep) -> Response:
    if not evidence_is_public(session=session, sha256=sha256):
        raise HTTPException(status_code=404, detail="no published evidence with this key")
    return evidence_response(store, sha256)


@router.get("/verify/{token}")
def verify_page(request: Request, token: str, session: SessionDep) -> Response:
    try:
        claims = verify_token(request.app.state.secret_key, token)
    except BadNoticeToken:
        return page(request, "verify.html", status_code=400, genuine=False, notice=None)
    notice = session.scalar(select(Notice).where(Notice.token == token))
    if notice is None or notice.case.case_number != claims.case_number:
        return page(request, "verify.html", status_code=404, genuine=False, notice=None)
    case = notice.case
    return page(
        request,
        "verify.html",
        genuine=True,
        notice=notice,
        case=case,
        status=STATUS_VI.get(Status(case.status), case.status),
        penalty=penalty_status(case),
        time=format_vn_time(case.occurred_at),
    )
