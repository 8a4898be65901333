"""A complete NoticeData for rendering tests."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from notices.render import data_uri, qr_data_uri
from notices.types import Language, NoticeData, NoticeType, UnitInfo

UNIT = UnitInfo(
    name="Phòng Cảnh sát giao thông Công an TP. Hồ Chí Minh",
    address="459 Trần Hưng Đạo, Phường Cầu Ông Lãnh, TP. Hồ Chí Minh",
    phone="069 3187 346",
)


def photo() -> bytes:
    img = np.full((360, 640, 3), 100, np.uint8)
    cv2.rectangle(img, (250, 150), (400, 280), (30, 30, 200), -1)
    return cv2.imencode(".jpg", img)[1].tobytes()


def notice_data(**changes: object) -> NoticeData:
    url = "http://127.0.0.1:8000/verify/token123"
    data = NoticeData(
        notice_type=NoticeType.FIRST,
        language=Language.VI,
        authority="Công an Thành phố Hồ Chí Minh",
        case_number="HCM-2026-000123",
        issued_on="15/03/2026",
        owner_name="Nguyễn Văn An",
        owner_address="12 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh",
        plate="51A-123.45",
        plate_colour="Nền trắng, chữ đen",
        vehicle_type="Ô tô",
        time="08:05, 14/03/2026",
        place="Ngã tư Nguyễn Thị Minh Khai - Hai Bà Trưng",
        behaviour="Không chấp hành hiệu lệnh của đèn tín hiệu giao thông",
        legal_reference="điểm b khoản 9 Điều 6 Nghị định 168/2024/NĐ-CP",
        measured="Đèn tín hiệu: đỏ, 2.5 giây sau khi chuyển đỏ",
        fine_range="Từ 18.000.000 đồng đến 20.000.000 đồng",
        points=4,
        detecting_unit=UNIT,
        resolving_unit=UNIT,
        appear_by="04/04/2026",
        payment="Nộp tại Kho bạc Nhà nước.",
        evidence_image=data_uri(photo(), "image/jpeg"),
        data_bar="cam-01 | 08:05, 14/03/2026",
        qr_image=qr_data_uri(url),
        verify_url=url,
        officer="officer1",
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]
