"""The FastAPI application factory: composes the routers (police, public, operator, api) with the
database, the evidence store and the secrets it is given. Holds no domain logic."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from cases.payments import derive_secret
from detection.evidence_store import EvidenceStore
from phatnguoi.web.deps import Forbidden, LoginRequired
from phatnguoi.web.pages import ROLE_VI, page
from phatnguoi.web.routers import admin, api, desk, health, operator, police, public, supervisor

HERE = Path(__file__).resolve().parent
SESSION_HOURS = 10


def create_app(
    *,
    session_factory: sessionmaker[Session],
    evidence_store: EvidenceStore,
    secret_key: str,
    pii_key: str | None = None,
    secure_cookies: bool = False,
    public_base_url: str = "http://127.0.0.1:8000",
    cameras: Mapping[str, Any] | None = None,
    monitor: Any = None,
    preview_interval_s: float = 1.0,
    payment_days: int = 10,
    payment_callback_secret: str | None = None,
    lookup_pow_bits: int = 16,
    lookups_per_minute: float = 10.0,
    lookup_burst: float = 10.0,
) -> FastAPI:
    """The web app. ``secret_key`` signs session cookies and notice tokens; ``pii_key`` is only
    needed where owners' data is decrypted (not on any page yet). ``cameras`` (id ->
    ``ingest.camera.CameraConfig``) gives the case page its map and the camera wall its names;
    ``monitor`` (a started ``phatnguoi.web.monitor.PipelineMonitor``) gives the operator pages
    the Kafka side (heartbeats, lag, dead letters). ``payment_days`` is the time a decision gives
    to pay; ``payment_callback_secret`` checks the payment adapter's signature (derived from
    ``secret_key`` when not given); ``lookup_*`` tune the public lookup's proof of work and rate
    limits (``public.configure_public``)."""
    if not secret_key or len(secret_key) < 16:
        raise ValueError("expected a secret_key of at least 16 characters for the web app")
    app = FastAPI(title="phatnguoi", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.session_factory = session_factory
    app.state.evidence_store = evidence_store
    app.state.secret_key = secret_key
    app.state.pii_key = pii_key
    app.state.public_base_url = public_base_url.rstrip("/")
    configs = dict(cameras or {})
    app.state.camera_positions = {cid: (c.gps.lat, c.gps.lon) for cid, c in configs.items()}
    app.state.camera_names = {cid: (c.name, c.address) for cid, c in configs.items()}
    app.state.camera_configs = configs  # the admin's camera list (GPS, rules, unit)
    app.state.monitor = monitor
    app.state.preview_interval_s = preview_interval_s
    app.state.payment_days = payment_days
    app.state.payment_callback_secret = payment_callback_secret or derive_secret(secret_key)
    public.configure_public(app, pow_bits=lookup_pow_bits, lookups_per_minute=lookups_per_minute,
                            lookup_burst=lookup_burst)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie="phatnguoi_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(public.router)
    app.include_router(police.router)
    app.include_router(operator.router)
    app.include_router(api.router)
    app.include_router(health.router)
    app.include_router(supervisor.router)
    app.include_router(admin.router)
    app.include_router(desk.router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign-in required"}, status_code=401)
        return RedirectResponse(f"/police/login?next={request.url.path}", status_code=303)

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, exc: Forbidden) -> Response:
        # not async: it reads the database, and Starlette runs a plain handler on a worker thread. On
        # the event loop, a session's BEGIN IMMEDIATE waiting for SQLite's write lock held by a request
        # on a worker thread stops that request from finishing (seen: a 403 page hung 30 s)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        user = _signed_in(request)
        role = ROLE_VI.get(user.role, user.role) if user else ""
        message = "Trang này không dành cho tài khoản này."
        if str(exc).startswith("role "):
            message = f"Tài khoản {role} không được mở trang này."
        elif str(exc).startswith("this case"):
            message = "Vụ việc thuộc đơn vị khác: hãy chuyển cho cán bộ đơn vị đó hoặc chỉ huy."
        return page(request, "error.html", status_code=403, title="Không có quyền", message=message, user=user)

    def _signed_in(request: Request) -> Any:
        """The signed-in user for the error page's header (None when the session has none)."""
        from cases.models import User

        user_id = request.session.get("user_id")
        if not isinstance(user_id, int):
            return None
        with request.app.state.session_factory() as session:
            user = session.get(User, user_id)
            if user is not None:
                session.expunge(user)
            return user

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse("/lookup", status_code=303)

    return app
