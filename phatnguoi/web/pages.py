"""Server-rendered pages: one jinja2 environment, one ``page()`` that adds what every page needs
(the CSRF token, the signed-in user, Vietnamese labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cases.states import STATUS_VI
from cases.types import REJECT_REASON_VI, VEHICLE_CLASS_VI, format_vn_time
from notices.compose import measured_text
from notices.types import Language
from phatnguoi.web.security import CSRF_FIELD, csrf_token

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["vntime"] = format_vn_time
templates.env.filters["measured"] = lambda case: measured_text(case.rule, case.measurement or {}, Language.VI)


def latency(ms: float | None) -> str:
    """Milliseconds as the operator reads them: ``412 ms``, or ``141 s`` once it is a backlog."""
    if ms is None:
        return "—"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.0f} s"


templates.env.filters["latency"] = latency
templates.env.filters["vnd"] = lambda n: "" if n is None else f"{n:,}".replace(",", ".") + " đ"
ROLE_VI = {"officer": "cán bộ", "supervisor": "chỉ huy", "operator": "vận hành", "admin": "quản trị"}
templates.env.globals.update(
    STATUS_VI=STATUS_VI,
    REJECT_REASON_VI=REJECT_REASON_VI,
    VEHICLE_CLASS_VI=VEHICLE_CLASS_VI,
    CSRF_FIELD=CSRF_FIELD,
    ROLE_VI=ROLE_VI,
)


def page(
    request: Request, name: str, *, status_code: int = 200, user: Any = None, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"csrf": csrf_token(request), "user": user, **context}, status_code=status_code
    )
