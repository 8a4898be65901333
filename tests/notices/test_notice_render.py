"""Rendering: the HTML is pure and complete; the PDF carries the required fields in correct
Vietnamese (text extracted from the PDF) with the shipped fonts embedded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from notice_builders import notice_data
from pypdf import PdfReader

from notices import render
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


# what each type adds to the fields every notice carries: its title, whom it asks what, its dates
TYPE_FIELDS_VI: dict[NoticeType, list[str]] = {
    NoticeType.FIRST: ["THÔNG BÁO", "Kính gửi: Nguyễn Văn An", "Yêu cầu", "HCM-2026-000123/TB"],
    NoticeType.TRANSFER_LOCAL: [
        "Về việc chuyển hồ sơ vụ việc vi phạm hành chính",
        "Kính gửi: Công an phường Bến Thành",
        "HCM-2026-000123/CV",
        "thông báo cho chủ phương tiện",
    ],
    NoticeType.WARNING: [
        "Về việc cảnh báo phương tiện vi phạm",
        "Tạm dừng kiểm định, đăng ký",
        "Kính gửi: Cơ quan đăng kiểm; Cơ quan đăng ký xe",
        "HCM-2026-000123/CB",
    ],
    NoticeType.WARNING_ENDED: [
        "Về việc gỡ cảnh báo phương tiện",
        "giải quyết xong ngày 20/04/2026",
        "Gỡ bỏ cảnh báo",
        "HCM-2026-000123/GCB",
    ],
    NoticeType.DECISION: [
        "QUYẾT ĐỊNH",
        "Xử phạt vi phạm hành chính",
        "Số tiền phạt 19.000.000 đồng",
        "trước ngày 25/04/2026",
        "HCM-2026-000123/QĐ-XPHC",
    ],
}
ADDRESSEES = {
    NoticeType.FIRST: ("Nguyễn Văn An", "12 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh"),
    NoticeType.DECISION: ("Nguyễn Văn An", "12 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh"),
    NoticeType.TRANSFER_LOCAL: ("Công an phường Bến Thành", "1 Lê Thánh Tôn, Phường Bến Thành"),
    NoticeType.WARNING: ("Cơ quan đăng kiểm; Cơ quan đăng ký xe", "18 Phạm Hùng, Hà Nội"),
    NoticeType.WARNING_ENDED: ("Cơ quan đăng kiểm; Cơ quan đăng ký xe", "18 Phạm Hùng, Hà Nội"),
}
COMMON_VI = [f for f in REQUIRED_VI if f not in ("THÔNG BÁO", "Cách nộp phạt")] + [
    "Cách nộp phạt",
    "Quét mã để xác thực",
    "cam-01 | 08:05, 14/03/2026",  # the data bar under the photo
    "Đèn tín hiệu: đỏ, 2.5 giây sau khi chuyển đỏ",  # the measured value
]


def typed(notice_type: NoticeType, language: Language = Language.VI):  # type: ignore[no-untyped-def]
    name, address = ADDRESSEES[notice_type]
    return notice_data(
        notice_type=notice_type,
        language=language,
        addressee_name=name,
        addressee_address=address,
        fine_decided="19.000.000 đồng" if notice_type == NoticeType.DECISION else "",
        pay_by="25/04/2026" if notice_type == NoticeType.DECISION else "",
        resolved_on="20/04/2026" if notice_type == NoticeType.WARNING_ENDED else "",
    )


def test_every_notice_type_has_a_vietnamese_and_english_template():
    for notice_type in NoticeType:
        for language in Language:
            assert (notice_type, language) in TEMPLATES
            assert (Path(render.HERE) / "templates" / TEMPLATES[(notice_type, language)]).is_file()
    with pytest.raises(ValueError, match="expected a notice type/language"):
        template_for("fine_reminder", "vi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected a notice type/language"):
        template_for(NoticeType.FIRST, "fr")  # type: ignore[arg-type]


@pytest.mark.parametrize("notice_type", list(NoticeType))
def test_every_type_pdf_has_its_fields_with_diacritics(notice_type: NoticeType):
    pdf = render_pdf(render_html(typed(notice_type)))
    text = pdf_text(pdf)
    missing = [f for f in COMMON_VI + TYPE_FIELDS_VI[notice_type] if f not in text]
    assert missing == [], f"{notice_type}: missing {missing}"
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


@pytest.mark.parametrize("notice_type", list(NoticeType))
def test_every_type_renders_in_english(notice_type: NoticeType):
    html = render_html(typed(notice_type, Language.EN))
    for field in ("HCM-2026-000123", "Licence plate", "Resolving unit", "How to pay", "Measured value"):
        assert field in html
    assert "Biển kiểm soát" not in html  # no Vietnamese labels leak into the English rendering


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


def test_the_printed_photo_is_sized_for_print():
    import cv2
    import numpy as np

    from notices.render import print_jpeg

    rng = np.random.default_rng(0)
    frame = cv2.imencode(".jpg", rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8))[1].tobytes()
    printed = print_jpeg(frame)
    assert cv2.imdecode(np.frombuffer(printed, np.uint8), cv2.IMREAD_COLOR).shape == (540, 960, 3)
    assert len(printed) < len(frame) / 2
    small = cv2.imencode(".jpg", np.full((72, 128, 3), 90, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 50])[1].tobytes()
    assert print_jpeg(small) == small  # already small: kept as it is
    assert print_jpeg(b"not an image") == b"not an image"
