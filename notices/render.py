"""Notice rendering: templates are data (one map from notice type and language to a file), a pure
``render_html`` and a separate ``render_pdf``. The PDF embeds the DejaVu fonts shipped in
``notices/fonts`` (full Vietnamese diacritics), so it renders the same on a fresh machine."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2
import qrcode
from qrcode.constants import ERROR_CORRECT_M

from notices.types import Language, NoticeData, NoticeType

HERE = Path(__file__).resolve().parent
# Templates are data: (notice type, language) -> file in notices/templates. Every type extends
# notice_base.<lang>.html, which lays out the fields every notice carries (plate, time, place,
# behaviour, legal basis, measured value, fine, points, units, photo with data bar, QR code).
TEMPLATES: dict[tuple[NoticeType, Language], str] = {
    (notice_type, language): f"notice_{notice_type.value}.{language.value}.html"
    for notice_type in NoticeType
    for language in Language
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def template_for(notice_type: NoticeType, language: Language) -> str:
    try:
        return TEMPLATES[(NoticeType(notice_type), Language(language))]
    except (KeyError, ValueError) as exc:
        known = sorted(f"{t}/{lang}" for t, lang in TEMPLATES)
        raise ValueError(f"expected a notice type/language in {known}, got {notice_type}/{language}") from exc


def render_html(notice: NoticeData) -> str:
    """The notice as a complete HTML document (pure: same data, same HTML)."""
    return _env.get_template(template_for(notice.notice_type, notice.language)).render(n=notice)


def render_pdf(html: str) -> bytes:
    """HTML -> PDF bytes; fonts resolve against ``notices/``."""
    from weasyprint import HTML  # heavy import: only where PDFs are made

    return HTML(string=html, base_url=str(HERE)).write_pdf()


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def qr_data_uri(text: str) -> str:
    """A PNG QR code of ``text`` as a data URI."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return data_uri(buffer.getvalue(), "image/png")
