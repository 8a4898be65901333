"""Types that notices/ owns: the notice kinds and the data one notice is rendered from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class NoticeType(StrEnum):
    """The notices a case can send; values are the ``type`` in outbox ``render_notice`` payloads."""

    FIRST = "first"  # form 01: the violation notice to the owner (step 3, on filing)
    TRANSFER_LOCAL = "transfer_local"  # the case is sent to the police of the owner's commune/ward
    WARNING = "warning"  # 20 days without resolution: warn inspection/registration (hold the vehicle)
    WARNING_ENDED = "warning_ended"  # the case closed: lift the inspection/registration warning
    DECISION = "decision"  # the penalty decision (step 6)


class Language(StrEnum):
    VI = "vi"
    EN = "en"


@dataclass(frozen=True)
class UnitInfo:
    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class NoticeData:
    """Everything one notice shows, already formatted: the template only lays it out.

    Times are ``HH:MM, DD/MM/YYYY`` in Vietnam time; money in VND with ``.`` separators; images
    are ``data:`` URIs so the document needs no network and no file paths.
    """

    notice_type: NoticeType
    language: Language
    authority: str  # the parent body printed at the top left
    case_number: str
    issued_on: str  # DD/MM/YYYY
    owner_name: str
    owner_address: str
    plate: str
    plate_colour: str
    vehicle_type: str
    time: str
    place: str
    behaviour: str
    legal_reference: str
    measured: str
    fine_range: str
    points: int
    detecting_unit: UnitInfo
    resolving_unit: UnitInfo
    appear_by: str  # DD/MM/YYYY: come to the resolving unit before this date
    payment: str
    evidence_image: str  # data URI of the "at" frame ("" when the store has none)
    data_bar: str  # camera, time, place and measured value under the photo
    qr_image: str  # data URI of the QR code
    verify_url: str
    officer: str
    # who this notice is addressed to: the owner (first notice, decision), the local police
    # (transfer), the inspection and registration bodies (warning, warning ended)
    addressee_name: str = ""
    addressee_address: str = ""
    fine_decided: str = ""  # decision only: the amount decided
    pay_by: str = ""  # decision only: DD/MM/YYYY, decision + 10 days
    resolved_on: str = ""  # warning ended only: DD/MM/YYYY the case was resolved
