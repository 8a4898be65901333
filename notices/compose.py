"""From a filed case to ``NoticeData``: the only place that formats money, times and measured
values for a notice, and the only one in notices/ that reads the case's tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cases.models import Case, Unit
from cases.registry import OwnerDetails
from cases.tariff import behaviour
from cases.types import PLATE_COLOUR_VI, VEHICLE_CLASS_VI, VN_TZ, format_vn_time
from notices.render import data_uri, qr_data_uri
from notices.types import Language, NoticeData, NoticeType, UnitInfo

PLATE_COLOUR_EN = {
    "white": "white background, black letters",
    "yellow": "yellow background, black letters",
    "blue": "blue background, white letters",
    "red": "red background, white letters",
}
VEHICLE_CLASS_EN = {
    "car": "Car",
    "bus": "Bus",
    "truck": "Truck",
    "motorbike": "Motorbike",
    "electric": "Electric motorbike",
}
PHASE_VI = {"red": "đỏ", "yellow": "vàng", "green": "xanh", "unknown": "không xác định"}


@dataclass(frozen=True)
class NoticePolicy:
    """Configurable wording and figures of the notice."""

    authority: str = "Công an Thành phố Hồ Chí Minh"
    appear_within_days: int = 20  # notice -> warning flag (shared/DOMAIN.md)
    pay_within_days: int = 10  # decision -> payment (shared/DOMAIN.md)
    payment_vi: str = (
        "Sau khi có quyết định xử phạt, nộp tiền phạt trong thời hạn 10 ngày tại Kho bạc Nhà nước "
        "hoặc ngân hàng thương mại được Kho bạc ủy nhiệm thu, chuyển khoản qua Cổng Dịch vụ công "
        "Quốc gia (dichvucong.gov.vn), hoặc qua dịch vụ bưu chính công ích. Quá hạn nộp phạt, mỗi "
        "ngày chậm nộp phải nộp thêm 0,05% số tiền phạt."
    )
    payment_en: str = (
        "Once the penalty decision is issued, pay within 10 days at the State Treasury or a bank it "
        "authorises, by transfer through the National Public Service Portal (dichvucong.gov.vn), or "
        "through the public postal service. Late payment adds 0.05% of the fine per day."
    )


def vnd(amount: int, language: Language) -> str:
    if language == Language.VI:
        return f"{amount:,}".replace(",", ".") + " đồng"
    return f"VND {amount:,}"


def measured_text(rule: str, measurement: dict[str, Any], language: Language) -> str:
    vi = language == Language.VI
    speed, limit = measurement.get("speed_kmh"), measurement.get("speed_limit_kmh")
    if speed is not None:
        unc = measurement.get("speed_uncertainty_kmh") or 0
        limit_txt = (
            f" / {'tốc độ cho phép' if vi else 'limit'} {float(limit):.0f} km/h" if limit is not None else ""
        )
        return f"{'Tốc độ' if vi else 'Speed'} {float(speed):.0f} ± {float(unc):.0f} km/h{limit_txt}"
    phase = measurement.get("signal_phase")
    if phase is not None:
        since = measurement.get("seconds_since_red")
        since_txt = ""
        if since is not None:
            since_txt = (
                f", {float(since):.1f} giây sau khi chuyển đỏ" if vi else f", {float(since):.1f} s after red"
            )
        return (
            f"Đèn tín hiệu: {PHASE_VI.get(str(phase), str(phase))}" if vi else f"Signal: {phase}"
        ) + since_txt
    dwell = measurement.get("dwell_s")
    if dwell is not None:
        return f"{'Thời gian dừng' if vi else 'Stopped for'} {float(dwell):.0f} s"
    return "Không có" if vi else "None"


@dataclass(frozen=True)
class Addressee:
    name: str
    address: str


# Who the authority notices go to (configurable: the bodies differ by province).
INSPECTION_REGISTRATION_VI = Addressee(
    name="Cơ quan đăng kiểm; Cơ quan đăng ký xe",
    address="Cục Đăng kiểm Việt Nam, 18 Phạm Hùng, Hà Nội; Phòng CSGT Công an TP. Hồ Chí Minh",
)
INSPECTION_REGISTRATION_EN = Addressee(
    name="Vehicle inspection body; Vehicle registration body",
    address="Vietnam Register, 18 Pham Hung, Ha Noi; HCMC Traffic Police Division",
)


def decided_fine(fine_min_vnd: int, fine_max_vnd: int) -> int:
    """The fine a decision imposes by default: the middle of the range (Law on Handling
    Administrative Violations, Art. 23: mitigating or aggravating circumstances move it towards an
    end; an officer can override it). Rounded down to 1,000 VND."""
    return (fine_min_vnd + fine_max_vnd) // 2 // 1000 * 1000


def _unit(unit: Unit | None) -> UnitInfo:
    return UnitInfo(name=unit.name, address=unit.address, phone=unit.phone) if unit else UnitInfo("", "", "")


def compose_notice(
    case: Case,
    *,
    owner: OwnerDetails,
    evidence_jpeg: bytes | None,
    verify_url: str,
    issued_at: datetime,
    language: Language = Language.VI,
    policy: NoticePolicy = NoticePolicy(),
    notice_type: NoticeType = NoticeType.FIRST,
    fine_decided_vnd: int | None = None,
    resolved_at: datetime | None = None,
    first_notice_at: datetime | None = None,
) -> NoticeData:
    """One notice of a case whose fine and plate the review settled (FILED or later).

    The addressee follows the type: the owner (first notice, decision), the resolving unit, i.e.
    the local police (transfer), the inspection and registration bodies (warning, warning ended).
    The appointment deadline counts from ``first_notice_at`` (when the first notice went out) so
    later notices repeat the deadline the owner was given.
    """
    if case.fine_min_vnd is None or case.fine_max_vnd is None or case.plate_confirmed is None:
        raise ValueError(f"case {case.case_number} has no fine or confirmed plate: expected a filed case")
    vi = language == Language.VI
    day = case.occurred_at.astimezone(VN_TZ).date()
    act_vi, act_en = behaviour(case.rule, on=day)
    measured = measured_text(case.rule, case.measurement or {}, language)
    colour = case.plate_colour or "white"
    time = format_vn_time(case.occurred_at)
    plate = case.vehicle.plate_printed if case.vehicle else case.plate_confirmed
    low, high = vnd(case.fine_min_vnd, language), vnd(case.fine_max_vnd, language)
    fine = f"Từ {low} đến {high}" if vi else f"From {low} to {high}"
    notice_type = NoticeType(notice_type)
    resolving = _unit(case.resolving_unit)
    if notice_type in (NoticeType.FIRST, NoticeType.DECISION):
        addressee = Addressee(owner.name, owner.address)
    elif notice_type == NoticeType.TRANSFER_LOCAL:
        addressee = Addressee(resolving.name, resolving.address)
    else:
        addressee = INSPECTION_REGISTRATION_VI if vi else INSPECTION_REGISTRATION_EN
    decided = ""
    pay_by = ""
    if notice_type == NoticeType.DECISION:
        amount = fine_decided_vnd if fine_decided_vnd is not None else decided_fine(
            case.fine_min_vnd, case.fine_max_vnd
        )
        if not case.fine_min_vnd <= amount <= case.fine_max_vnd:
            raise ValueError(
                f"case {case.case_number}: expected a decided fine within {case.fine_min_vnd}..{case.fine_max_vnd}, "
                f"got {amount}"
            )
        decided = vnd(amount, language)
        pay_by = (issued_at + timedelta(days=policy.pay_within_days)).astimezone(VN_TZ).strftime("%d/%m/%Y")
    resolved_on = (resolved_at or issued_at).astimezone(VN_TZ).strftime("%d/%m/%Y")
    return NoticeData(
        notice_type=notice_type,
        language=language,
        authority=policy.authority if vi else "Ho Chi Minh City Police",
        case_number=case.case_number,
        issued_on=issued_at.astimezone(VN_TZ).strftime("%d/%m/%Y"),
        owner_name=owner.name,
        owner_address=owner.address,
        plate=plate,
        plate_colour=(PLATE_COLOUR_VI if vi else PLATE_COLOUR_EN).get(colour, colour),
        vehicle_type=(VEHICLE_CLASS_VI if vi else VEHICLE_CLASS_EN).get(
            case.vehicle_class, case.vehicle_class
        ),
        time=time,
        place=case.place,
        behaviour=act_vi if vi else act_en,
        legal_reference=case.legal_reference or "",
        measured=measured,
        fine_range=fine,
        points=case.points or 0,
        detecting_unit=_unit(case.detecting_unit),
        resolving_unit=resolving,
        appear_by=((first_notice_at or issued_at) + timedelta(days=policy.appear_within_days))
        .astimezone(VN_TZ)
        .strftime("%d/%m/%Y"),
        payment=policy.payment_vi if vi else policy.payment_en,
        evidence_image=data_uri(evidence_jpeg, "image/jpeg") if evidence_jpeg else "",
        data_bar=f"{case.camera_id} | {time} | {case.place} | {measured}",
        qr_image=qr_data_uri(verify_url),
        verify_url=verify_url,
        officer=case.reviewed_by or "",
        addressee_name=addressee.name,
        addressee_address=addressee.address,
        fine_decided=decided,
        pay_by=pay_by,
        resolved_on=resolved_on if notice_type == NoticeType.WARNING_ENDED else "",
    )
