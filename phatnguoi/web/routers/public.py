"""Public pages for vehicle owners: the lookup by plate and vehicle type (page and JSON, no
personal data, only blurred evidence), the public evidence images, and the notice verification
page behind the QR code.

Abuse protection (``notices.abuse``): every lookup carries a solved proof-of-work challenge bound to
the plate and type it asks about, every client has a rate limit (429 with ``Retry-After``), an
unknown plate answers exactly like a known one without cases, and the lookup log holds no plate, no
IP address and nothing about any owner."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from cases import plates
from cases.models import Notice
from cases.publication import penalty_status
from cases.states import STATUS_VI, Status
from cases.types import LookupVehicleType, PublicCase, format_vn_time
from notices.abuse import ChallengeError, ProofOfWork, RateLimiter, client_tag
from notices.lookup import evidence_is_public, public_cases
from notices.tokens import BadNoticeToken, verify_token
from notices.types import NoticeType
from phatnguoi.web.deps import SessionDep, StoreDep
from phatnguoi.web.pages import page
from phatnguoi.web.routers.police import evidence_response

router = APIRouter(tags=["public"])
log = logging.getLogger("phatnguoi.public.lookup")

VEHICLE_TYPES_VI = {
    LookupVehicleType.CAR: "Ô tô",
    LookupVehicleType.MOTORBIKE: "Xe máy",
    LookupVehicleType.ELECTRIC: "Xe máy điện",
}
NOTICE_TYPE_VI = {
    NoticeType.FIRST: "Thông báo vi phạm",
    NoticeType.TRANSFER_LOCAL: "Chuyển hồ sơ vụ việc",
    NoticeType.WARNING: "Cảnh báo phương tiện",
    NoticeType.WARNING_ENDED: "Gỡ cảnh báo phương tiện",
    NoticeType.DECISION: "Quyết định xử phạt",
}


@dataclass
class PublicGuard:
    """The lookup's abuse protection, one per app (``configure_public`` replaces the defaults)."""

    pow: ProofOfWork
    lookups: RateLimiter
    challenges: RateLimiter
    secret: str


def configure_public(
    app: FastAPI,
    *,
    pow_bits: int = 16,
    lookups_per_minute: float = 10.0,
    lookup_burst: float = 10.0,
    challenges_per_minute: float = 30.0,
) -> PublicGuard:
    """Set the lookup's proof-of-work difficulty and per-client rate limits."""
    secret = app.state.secret_key
    guard = PublicGuard(
        pow=ProofOfWork(secret=secret, bits=pow_bits),
        lookups=RateLimiter(capacity=lookup_burst, per_minute=lookups_per_minute),
        challenges=RateLimiter(capacity=max(lookup_burst, 2 * lookup_burst), per_minute=challenges_per_minute),
        secret=secret,
    )
    app.state.public_guard = guard
    return guard


def guard_of(request: Request) -> PublicGuard:
    guard = getattr(request.app.state, "public_guard", None)
    return guard if guard is not None else configure_public(request.app)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class TooManyRequests(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests: retry after {retry_after} s")
        self.retry_after = retry_after


def _rate_limit(request: Request, limiter: RateLimiter) -> None:
    wait = limiter.take(_client(request))
    if wait:
        raise TooManyRequests(wait)


def check_lookup(plate: str, vehicle_type: str) -> tuple[str, LookupVehicleType]:
    """Validate the two lookup inputs; ``ValueError`` with a message for the person typing."""
    key = plates.normalize(plate)
    if not plates.is_valid(key):
        raise ValueError(f"Biển số không hợp lệ: {plate!r}")
    try:
        return key, LookupVehicleType(vehicle_type)
    except ValueError as exc:
        raise ValueError(f"Loại phương tiện không hợp lệ: {vehicle_type!r}") from exc


def case_json(case: PublicCase) -> dict[str, Any]:
    data = asdict(case)
    data["evidence_urls"] = [f"/public/evidence/{sha}" for sha in case.evidence_sha256]
    data["photo_pending"] = not case.evidence_sha256
    return data


def _log(request: Request, vehicle_type: str, outcome: str, found: int, started: float) -> None:
    """No plate, no IP, nothing about an owner: a keyed tag of the client, the type, the outcome."""
    log.info(
        "public lookup client=%s type=%s outcome=%s found=%d ms=%.1f",
        client_tag(guard_of(request).secret, _client(request)),
        vehicle_type if vehicle_type in LookupVehicleType.__members__.values() else "invalid",
        outcome,
        found,
        (time.perf_counter() - started) * 1000,
    )


@router.get("/lookup")
def lookup_page(
    request: Request,
    session: SessionDep,
    plate: str = "",
    vehicle_type: str = "car",
    challenge: str = "",
    pow: str = "",  # noqa: A002 - the form field's name
) -> Response:
    guard = guard_of(request)
    started = time.perf_counter()
    results, error, status_code, headers = None, None, 200, {}
    if plate and not challenge:
        error = "Nhấn “Tra cứu” để xác minh và xem kết quả (trình duyệt cần bật JavaScript)."
    elif plate:
        try:
            _rate_limit(request, guard.lookups)
            key, vtype = check_lookup(plate, vehicle_type)
            guard.pow.check(challenge, pow, plate=plate, vehicle_type=vehicle_type)
            results = public_cases(session=session, plate_key=key, vehicle_type=vtype)
            _log(request, vehicle_type, "ok", len(results), started)
        except TooManyRequests as exc:
            error, status_code = f"Quá nhiều lượt tra cứu. Vui lòng thử lại sau {exc.retry_after} giây.", 429
            headers = {"Retry-After": str(exc.retry_after)}
            _log(request, vehicle_type, "rate_limited", 0, started)
        except ChallengeError as exc:
            error, status_code = f"Không xác minh được lượt tra cứu ({exc}). Vui lòng thử lại.", 400
            _log(request, vehicle_type, "bad_pow", 0, started)
        except ValueError as exc:
            error, status_code = str(exc), 422
            _log(request, vehicle_type, "bad_input", 0, started)
    response = page(
        request,
        "public_lookup.html",
        status_code=status_code,
        plate=plate,
        vehicle_type=vehicle_type,
        results=results,
        error=error,
        vehicle_types=VEHICLE_TYPES_VI,
        challenge=guard.pow.issue(),
        pow_bits=guard.pow.bits,
    )
    response.headers.update(headers)
    return response


@router.get("/api/public/challenge")
def public_challenge(request: Request) -> Response:
    guard = guard_of(request)
    try:
        _rate_limit(request, guard.challenges)
    except TooManyRequests as exc:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    return JSONResponse(
        {
            "challenge": guard.pow.issue(),
            "bits": guard.pow.bits,
            "ttl_s": guard.pow.ttl_s,
            "solve": "smallest decimal counter with sha256('<challenge>:<plate>:<vehicle_type>:<counter>') "
            "starting with <bits> zero bits; send it as pow= with challenge=, plate= and vehicle_type=",
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/api/public/lookup")
def public_lookup(
    request: Request,
    plate: str,
    vehicle_type: str,
    challenge: str = "",
    pow: str = "",  # noqa: A002 - the query parameter's name
) -> Response:
    """The hot path of the public site: checks first (rate, input, proof of work), then one
    statement. It opens its session itself rather than through ``SessionDep``: a generator
    dependency costs two more thread hops per request, a third of the request's CPU."""
    guard = guard_of(request)
    started = time.perf_counter()
    try:
        _rate_limit(request, guard.lookups)
    except TooManyRequests as exc:
        _log(request, vehicle_type, "rate_limited", 0, started)
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    try:
        key, vtype = check_lookup(plate, vehicle_type)
    except ValueError as exc:
        _log(request, vehicle_type, "bad_input", 0, started)
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    try:
        guard.pow.check(challenge, pow, plate=plate, vehicle_type=vehicle_type)
    except ChallengeError as exc:
        _log(request, vehicle_type, "bad_pow", 0, started)
        raise HTTPException(status_code=400, detail=f"proof of work: {exc}") from exc
    with request.app.state.session_factory() as session:
        found = public_cases(session=session, plate_key=key, vehicle_type=vtype)
    _log(request, vehicle_type, "ok", len(found), started)
    return JSONResponse(
        {"plate": key, "vehicle_type": str(vtype), "cases": [case_json(c) for c in found]},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/public/evidence/{sha256}")
def public_evidence(sha256: str, session: SessionDep, store: StoreDep) -> Response:
    if len(sha256) != 64 or not evidence_is_public(session=session, sha256=sha256):
        raise HTTPException(status_code=404, detail="no published evidence with this key")
    return evidence_response(store, sha256)


@router.get("/verify/{token}")
def verify_page(request: Request, token: str, session: SessionDep) -> Response:
    try:
        claims = verify_token(request.app.state.secret_key, token)
    except BadNoticeToken:
        return page(request, "verify.html", status_code=400, genuine=False, notice=None)
    notice = session.scalar(select(Notice).where(Notice.token == token))
    if notice is None or notice.case.case_number != claims.case_number or notice.type != claims.notice_type:
        return page(request, "verify.html", status_code=404, genuine=False, notice=None)
    case = notice.case
    return page(
        request,
        "verify.html",
        genuine=True,
        notice=notice,
        notice_kind=NOTICE_TYPE_VI.get(NoticeType(notice.type), notice.type)
        if notice.type in NoticeType.__members__.values()
        else notice.type,
        case=case,
        status=STATUS_VI.get(Status(case.status), case.status),
        penalty=penalty_status(case),
        time=format_vn_time(case.occurred_at),
        lookup_type="car" if case.vehicle_class in ("car", "bus", "truck") else (
            "electric" if case.vehicle_class == "electric" else "motorbike"
        ),
    )
