"""Rendering: the HTML is pure and complete; the PDF carries the required fields in correct
Vietnamese (text extracted from the PDF) with the shipped fonts embedded."""

from __future__ import annotations

import io

import pytest
from notice_builders import notice_data
from pypdf import PdfReader

from notices.render import TEMPLATES, render_html, render_pdf, template_for
from notices.types import Language, NoticeType

REQUIRED_VI = [
    "HCM-2026-000123",
    "51A-123.45",
    "Nền trắng, chữ đen",
    "Ô tô",
    "08:05, 14/03/2026",
    "Ngã tư Nguyễn Thị Minh Khai - Hai Bà Trưng",
    "Không chấp hành hiệu lệnh của đèn tín hiệu giao thông",
    "điểm b khoản 9 Điều 6 Nghị định 168/2024/NĐ-CP",
    "Từ 18.000.000 đồng đến 20.000.000 đồng",
    "Trừ 4 điểm",
    "Phòng Cảnh sát giao thông Công an TP. Hồ Chí Minh",
    "459 Trần Hưng Đạo",
    "069 3187 346",
    "trước ngày 04/04/2026",
    "Nguyễn Văn An",
    "THÔNG BÁO",
    "Cách nộp phạt",
    "Độc lập - Tự do - Hạnh phúc",
]


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def test_every_notice_type_has_a_vietnamese_and_english_template():
    for notice_type in NoticeType:
        for language in Language:
            assert (notice_type, language) in TEMPLATES
    with pytest.raises(ValueError, match="expected a notice type/language"):
        template_for("warning", "vi")  # type: ignore[arg-type]


def test_html_is_pure_and_escapes_input():
    data = notice_data(owner_name="<script>x</script>")
    first, second = render_html(data), render_html(data)
    assert first == second
    assert "<script>x</script>" not in first and "&lt;script&gt;" in first


def test_vietnamese_pdf_has_every_field_with_diacritics():
    pdf = render_pdf(render_html(notice_data()))
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    missing = [field for field in REQUIRED_VI if field not in text]
    assert missing == []
    reader = PdfReader(io.BytesIO(pdf))
    fonts = [f.get_object() for p in reader.pages for f in p["/Resources"]["/Font"].values()]
    names = {str(f["/BaseFont"]) for f in fonts}
    assert any(n.endswith("+NoticeSerif") for n in names), names  # the @font-face of notices/fonts
    for font in fonts:  # embedded, not referenced: renders the same anywhere
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
    assert len(reader.pages) == 1


def test_english_pdf():
    text = pdf_text(
        render_pdf(render_html(notice_data(language=Language.EN, fine_range="From VND 18.000.000")))
    )
    for field in (
        "NOTICE",
        "HCM-2026-000123",
        "Licence plate",
        "From VND 18.000.000",
        "4 points deducted",
        "How to pay",
        "Nguyễn Văn An",
    ):
        assert field in text
