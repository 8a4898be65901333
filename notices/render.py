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


PRINT_MAX_WIDTH = 960  # px: the photo prints 92 mm wide, 960 px is 265 dpi
PRINT_JPEG_QUALITY = 80


def print_jpeg(data: bytes, *, max_width: int = PRINT_MAX_WIDTH, quality: int = PRINT_JPEG_QUALITY) -> bytes:
    """The evidence frame sized for the printed notice: a full-resolution frame would make each
    PDF (and the daily print batch) several times larger for no visible gain. The stored original
    is untouched; bytes that do not decode as an image are returned as they are."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return data
    height, width = image.shape[:2]
    if width > max_width:
        image = cv2.resize(image, (max_width, round(height * max_width / width)), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return encoded.tobytes() if ok and len(encoded) < len(data) else data


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
