"""Types that cases/ owns: statuses, outcomes, roles, reasons, and the small values that cross its
boundary (fines, public listings). Statuses and outcomes live in ``cases.states``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Vietnam keeps no daylight saving time


def format_vn_time(moment: datetime) -> str:
    """``HH:MM, DD/MM/YYYY`` in Vietnam time, the form the public lookup and the notice use."""
    if moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(VN_TZ).strftime("%H:%M, %d/%m/%Y")


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    ADMIN = "admin"


class RejectReason(StrEnum):
    """The fixed list an officer picks from when rejecting a detection."""

    FALSE_DETECTION = "false_detection"
    PLATE_UNREADABLE = "plate_unreadable"
    EXEMPT_VEHICLE = "exempt_vehicle"
    MILITARY_PLATE = "military_plate"
    DUPLICATE = "duplicate"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    EXPIRED = "expired"  # the one-year limitation passed before the case was filed


REJECT_REASON_VI: dict[RejectReason, str] = {
    RejectReason.FALSE_DETECTION: "Phát hiện sai, không có vi phạm",
    RejectReason.PLATE_UNREADABLE: "Không đọc được biển số",
    RejectReason.EXEMPT_VEHICLE: "Xe ưu tiên / được miễn",
    RejectReason.MILITARY_PLATE: "Biển số quân đội",
    RejectReason.DUPLICATE: "Trùng với vụ việc khác",
    RejectReason.INSUFFICIENT_EVIDENCE: "Hình ảnh không đủ căn cứ",
    RejectReason.EXPIRED: "Hết thời hiệu xử phạt",
}


class LookupVehicleType(StrEnum):
    """What the public lookup asks for (car / motorbike / electric), as on the existing site."""

    CAR = "car"
    MOTORBIKE = "motorbike"
    ELECTRIC = "electric"


# lookup type -> the detector's vehicle classes it covers
LOOKUP_CLASSES: dict[LookupVehicleType, tuple[str, ...]] = {
    LookupVehicleType.CAR: ("car", "bus", "truck"),
    LookupVehicleType.MOTORBIKE: ("motorbike",),
    LookupVehicleType.ELECTRIC: ("motorbike", "electric"),
}

VEHICLE_CLASS_VI: dict[str, str] = {
    "car": "Ô tô",
    "bus": "Ô tô khách",
    "truck": "Ô tô tải",
    "motorbike": "Mô tô, xe máy",
    "electric": "Xe máy điện",
}

PLATE_COLOUR_VI: dict[str, str] = {
    "white": "Nền trắng, chữ đen",
    "yellow": "Nền vàng, chữ đen",
    "blue": "Nền xanh, chữ trắng",
    "red": "Nền đỏ, chữ trắng",
}


@dataclass(frozen=True)
class Fine:
    """One line of the tariff applied to one case."""

    min_vnd: int
    max_vnd: int
    points: int
    reference: str  # e.g. "điểm b khoản 9 Điều 6 Nghị định 168/2024/NĐ-CP"
    tariff_version: str
    behaviour_vi: str
    behaviour_en: str


@dataclass(frozen=True)
class PublicCase:
    """What the public lookup may show about one case: no personal data of anyone."""

    case_number: str
    plate: str
    plate_colour: str
    vehicle_type: str
    time: str  # HH:MM, DD/MM/YYYY
    place: str
    behaviour: str
    status: str  # "Chưa xử phạt" | "Đã xử phạt"
    detecting_unit: str
    resolving_unit: str
    resolving_address: str
    resolving_phone: str
    evidence_sha256: tuple[str, ...]


class NoticeKind(StrEnum):
    """The ``type`` of an outbox ``render_notice`` row. The values are those of
    ``notices.types.NoticeType`` (issue 7 renders them); a test keeps the two equal, so cases/ need
    not import notices/ (which imports cases/)."""

    FIRST = "first"
    TRANSFER_LOCAL = "transfer_local"
    WARNING = "warning"
    WARNING_ENDED = "warning_ended"
    DECISION = "decision"


class FlagKind(StrEnum):
    """A legal deadline that passed (shared/DOMAIN.md, "Timers the system keeps")."""

    NOTIFY_OVERDUE = "notify_overdue"  # 10 days from detection: owner identified, notified, published
    WARNING = "warning"  # 20 days after the notice without resolution: warn inspection/registration
    PAYMENT_OVERDUE = "payment_overdue"  # 10 days after the decision, unpaid: late interest runs
    EXPIRY = "expiry"  # 1 year from the recording: the evidence is void, an officer closes the case


FLAG_VI: dict[FlagKind, str] = {
    FlagKind.NOTIFY_OVERDUE: "Quá hạn thông báo (10 ngày)",
    FlagKind.WARNING: "Cảnh báo đăng kiểm, đăng ký (20 ngày)",
    FlagKind.PAYMENT_OVERDUE: "Quá hạn nộp phạt (10 ngày)",
    FlagKind.EXPIRY: "Hết thời hiệu (1 năm)",
}
