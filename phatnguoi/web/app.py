"""The FastAPI application factory: composes the routers (police, public, operator, api) with the
database, the evidence store and the secrets it is given. Holds no domain logic."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from detection.evidence_store import EvidenceStore
from phatnguoi.web.deps import Forbidden, LoginRequired
from phatnguoi.web.pages import page
from phatnguoi.web.routers import api, health, operator, police, public

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
) -> FastAPI:
    """The web app. ``secret_key`` signs session cookies and notice tokens; ``pii_key`` is only
    needed where owners' data is decrypted (not on any page yet)."""
    if not secret_key or len(secret_key) < 16:
        raise ValueError("expected a secret_key of at least 16 characters for the web app")
    app = FastAPI(title="phatnguoi", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.session_factory = session_factory
    app.state.evidence_store = evidence_store
    app.state.secret_key = secret_key
    app.state.pii_key = pii_key
    app.state.public_base_url = public_base_url.rstrip("/")
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

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign-in required"}, status_code=401)
        return RedirectResponse(f"/police/login?next={request.url.path}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return page(request, "error.html", status_code=403, title="Không có quyền", message=str(exc))

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse("/lookup", status_code=303)

    return app
