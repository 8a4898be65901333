"""A made-up vehicle registry for the plates the simulator invents, so the case pipeline can
identify owners in the demo. Every entry is a pure function of (seed, plate text): the same plate
under the same seed always belongs to the same invented owner, whatever order plates appear in.

Personal data here is fictional but shaped like the real thing: Vietnamese names with diacritics,
addresses in the province the plate's code belongs to (post-2025 provinces), a 12-digit CCCD
(3-digit province of registration, century/sex digit, 2-digit birth year, 6 digits), a mobile
number, and a brand/model/colour that fit the vehicle class.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from cases.plates import parse
from ingest.sim.plates import SimPlate

# plate province code -> province (since 01/07/2025)
_PROVINCE_OF_CODE: dict[str, str] = {}
for codes, name in [
    ("11", "Cao Bằng"),
    ("12", "Lạng Sơn"),
    ("14", "Quảng Ninh"),
    ("15 16 34", "TP. Hải Phòng"),
    ("17 89", "Hưng Yên"),
    ("18 35 90", "Ninh Bình"),
    ("19 28 88", "Phú Thọ"),
    ("20 97", "Thái Nguyên"),
    ("21 24", "Lào Cai"),
    ("22 23", "Tuyên Quang"),
    ("25", "Lai Châu"),
    ("26", "Sơn La"),
    ("27", "Điện Biên"),
    ("29 30 31 32 33 40", "TP. Hà Nội"),
    ("36", "Thanh Hóa"),
    ("37", "Nghệ An"),
    ("38", "Hà Tĩnh"),
    ("43 92", "TP. Đà Nẵng"),
    ("47 78", "Đắk Lắk"),
    ("48 49 86", "Lâm Đồng"),
    ("41 50 51 52 53 54 55 56 57 58 59 61 72", "TP. Hồ Chí Minh"),
    ("60 93", "Đồng Nai"),
    ("62 70", "Tây Ninh"),
    ("63 66", "Đồng Tháp"),
    ("64 71 84", "Vĩnh Long"),
    ("65 83 95", "TP. Cần Thơ"),
    ("67 68", "An Giang"),
    ("69 94", "Cà Mau"),
    ("73 74", "Quảng Trị"),
    ("75", "TP. Huế"),
    ("76 82", "Quảng Ngãi"),
    ("77 81", "Gia Lai"),
    ("79 85", "Khánh Hòa"),
    ("98 99", "Bắc Ninh"),
    ("80", "TP. Hà Nội"),
]:
    for code in codes.split():
        _PROVINCE_OF_CODE[code] = name

# CCCD province-of-registration prefixes (Circular 59/2021) for the provinces above
_CCCD_PREFIX = {
    "TP. Hồ Chí Minh": ["079", "074", "077"],
    "TP. Hà Nội": ["001"],
    "TP. Hải Phòng": ["031", "030"],
    "TP. Đà Nẵng": ["048", "049"],
    "TP. Cần Thơ": ["092", "094", "093"],
    "Đồng Nai": ["075", "070"],
    "Khánh Hòa": ["056", "058"],
    "Nghệ An": ["040"],
    "Thanh Hóa": ["038"],
    "Hà Tĩnh": ["042"],
    "Quảng Ninh": ["022"],
    "Bắc Ninh": ["027", "024"],
    "Hưng Yên": ["033", "034"],
    "Ninh Bình": ["037", "036", "035"],
    "Phú Thọ": ["025", "026", "017"],
    "Thái Nguyên": ["019", "006"],
    "Lào Cai": ["010", "015"],
    "Tuyên Quang": ["008", "002"],
    "Lâm Đồng": ["068", "067", "060"],
    "Đắk Lắk": ["066", "054"],
    "Gia Lai": ["064", "052"],
    "Quảng Ngãi": ["051", "062"],
    "Quảng Trị": ["045", "044"],
    "TP. Huế": ["046"],
    "Tây Ninh": ["072", "080"],
    "Đồng Tháp": ["087", "082"],
    "Vĩnh Long": ["086", "083", "084"],
    "An Giang": ["089", "091"],
    "Cà Mau": ["096", "095"],
    "Cao Bằng": ["004"],
    "Lạng Sơn": ["020"],
    "Lai Châu": ["012"],
    "Sơn La": ["014"],
    "Điện Biên": ["011"],
}

_WARDS = {
    "TP. Hồ Chí Minh": [
        "Sài Gòn",
        "Bến Thành",
        "Tân Định",
        "Cầu Ông Lãnh",
        "Bàn Cờ",
        "Xuân Hòa",
        "Nhiêu Lộc",
        "Gia Định",
        "Bình Thạnh",
        "Thạnh Mỹ Tây",
        "Hạnh Thông",
        "Gò Vấp",
        "An Hội Đông",
        "Tân Sơn Nhất",
        "Tân Bình",
        "Bảy Hiền",
        "Phú Nhuận",
        "Đức Nhuận",
        "Chợ Lớn",
        "Bình Tây",
        "An Đông",
        "Chánh Hưng",
        "Tân Thuận",
        "Tân Hưng",
        "Thủ Đức",
        "Linh Xuân",
        "Hiệp Bình",
        "Thủ Dầu Một",
        "Dĩ An",
        "Thuận An",
        "Vũng Tàu",
        "Bà Rịa",
        "Bình Tân",
        "Tân Phú",
    ],
    "TP. Hà Nội": [
        "Hoàn Kiếm",
        "Ba Đình",
        "Đống Đa",
        "Cầu Giấy",
        "Hai Bà Trưng",
        "Hoàng Mai",
        "Thanh Xuân",
        "Long Biên",
        "Tây Hồ",
        "Hà Đông",
    ],
    "TP. Đà Nẵng": ["Hải Châu", "Thanh Khê", "Sơn Trà", "Ngũ Hành Sơn", "Hội An", "Tam Kỳ"],
    "TP. Cần Thơ": ["Ninh Kiều", "Cái Khế", "Bình Thủy", "Sóc Trăng", "Vị Thanh"],
    "TP. Hải Phòng": ["Hồng Bàng", "Lê Chân", "Ngô Quyền", "Hải Dương", "Kiến An"],
}
_STREETS_HCM = [
    "Nguyễn Huệ",
    "Lê Lợi",
    "Điện Biên Phủ",
    "Cách Mạng Tháng Tám",
    "Nguyễn Thị Minh Khai",
    "Hai Bà Trưng",
    "Võ Văn Tần",
    "Lý Thường Kiệt",
    "Nguyễn Trãi",
    "Trần Hưng Đạo",
    "Phan Xích Long",
    "Lê Văn Sỹ",
    "Hoàng Văn Thụ",
    "Cộng Hòa",
    "Trường Chinh",
    "Quang Trung",
    "Phan Văn Trị",
    "Nguyễn Oanh",
    "Xô Viết Nghệ Tĩnh",
    "Bạch Đằng",
    "Phạm Văn Đồng",
    "Kha Vạn Cân",
    "Võ Văn Ngân",
    "Lũy Bán Bích",
    "Âu Cơ",
    "Tân Kỳ Tân Quý",
    "Kinh Dương Vương",
    "Hậu Giang",
    "Nguyễn Văn Linh",
    "Huỳnh Tấn Phát",
]
_STREETS = [
    "Trần Hưng Đạo",
    "Lê Lợi",
    "Quang Trung",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Hùng Vương",
    "Trần Phú",
    "Nguyễn Văn Cừ",
    "Lê Duẩn",
    "Phan Chu Trinh",
    "Nguyễn Du",
    "Bà Triệu",
    "Hoàng Diệu",
    "Điện Biên Phủ",
    "30 Tháng 4",
    "Ngô Quyền",
    "Lê Hồng Phong",
]
_FAMILY = [
    ("Nguyễn", 38),
    ("Trần", 11),
    ("Lê", 9.5),
    ("Phạm", 7),
    ("Huỳnh", 3),
    ("Hoàng", 2.5),
    ("Phan", 4.5),
    ("Vũ", 2),
    ("Võ", 3),
    ("Đặng", 2),
    ("Bùi", 2),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1),
    ("Lý", 0.5),
    ("Trương", 1),
    ("Đinh", 0.8),
    ("Lâm", 0.6),
    ("Mai", 0.5),
    ("Tạ", 0.3),
]
_MIDDLE = {
    "m": ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Hoàng", "Tấn", "Gia", "Nhật"],
    "f": ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Bảo", "Phương", "Hồng", "Thùy"],
}
_GIVEN = {
    "m": [
        "Anh",
        "Bảo",
        "Cường",
        "Dũng",
        "Đạt",
        "Hải",
        "Hiếu",
        "Hoàng",
        "Hùng",
        "Huy",
        "Khang",
        "Khoa",
        "Kiên",
        "Long",
        "Lộc",
        "Minh",
        "Nam",
        "Nghĩa",
        "Phát",
        "Phong",
        "Phúc",
        "Quân",
        "Quang",
        "Sơn",
        "Tài",
        "Tâm",
        "Thắng",
        "Thành",
        "Thịnh",
        "Trí",
        "Trung",
        "Tuấn",
        "Việt",
        "Vinh",
        "Vũ",
    ],
    "f": [
        "An",
        "Anh",
        "Chi",
        "Diễm",
        "Dung",
        "Giang",
        "Hà",
        "Hạnh",
        "Hằng",
        "Hiền",
        "Hoa",
        "Hương",
        "Lan",
        "Linh",
        "Loan",
        "Mai",
        "My",
        "Nga",
        "Ngân",
        "Nhung",
        "Oanh",
        "Phương",
        "Quyên",
        "Tâm",
        "Thảo",
        "Thủy",
        "Trang",
        "Trâm",
        "Tuyết",
        "Uyên",
        "Vân",
        "Vy",
        "Yến",
    ],
}
_PHONE_PREFIX = [
    "090",
    "093",
    "089",
    "070",
    "079",
    "077",
    "076",
    "078",
    "091",
    "094",
    "088",
    "081",
    "082",
    "083",
    "084",
    "085",
    "096",
    "097",
    "098",
    "086",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
]
_BRANDS = {
    "motorbike": [
        ("Honda", ["Wave Alpha", "Vision", "Air Blade", "Lead", "SH 125i", "Winner X", "Future"]),
        ("Yamaha", ["Exciter 155", "Sirius", "Janus", "NVX", "Grande"]),
        ("Suzuki", ["Raider R150", "Axelo"]),
        ("SYM", ["Attila", "Elegant"]),
        ("Piaggio", ["Liberty", "Vespa Sprint"]),
        ("VinFast", ["Evo200", "Feliz S"]),
    ],
    "car": [
        ("Toyota", ["Vios", "Corolla Cross", "Innova", "Fortuner"]),
        ("Hyundai", ["Accent", "Creta", "Tucson"]),
        ("Kia", ["Morning", "Seltos", "Carnival"]),
        ("Mazda", ["Mazda3", "CX-5"]),
        ("VinFast", ["VF 5", "VF 8", "VF 3"]),
        ("Honda", ["City", "CR-V"]),
        ("Ford", ["Ranger", "Everest"]),
        ("Mitsubishi", ["Xpander", "Attrage"]),
    ],
    "bus": [
        ("Thaco", ["Town TB82S", "Mobihome"]),
        ("Hyundai", ["County", "Universe"]),
        ("Samco", ["Felix", "Wenda"]),
    ],
    "truck": [
        ("Hino", ["300 Series", "500 Series"]),
        ("Isuzu", ["QKR", "NPR"]),
        ("Thaco", ["Ollin", "Kia K250"]),
        ("Hyundai", ["Mighty N250", "HD210"]),
        ("Dongfeng", ["B180"]),
    ],
}
_VEHICLE_TYPE = {
    "motorbike": "Xe mô tô hai bánh",
    "car": "Xe ô tô con",
    "bus": "Xe ô tô chở người (xe khách)",
    "truck": "Xe ô tô tải",
}
_COMPANIES = [
    "Công ty TNHH Vận tải Phương Nam",
    "Công ty Cổ phần Xe khách Sài Gòn",
    "Hợp tác xã Vận tải Quyết Thắng",
    "Công ty TNHH Thương mại Dịch vụ Minh Phát",
    "Công ty Cổ phần Logistics Tân Cảng",
    "Công ty TNHH Giao nhận Hòa Bình",
    "Hợp tác xã Xe buýt 19/5",
    "Công ty TNHH Vật liệu Xây dựng Đại Thành",
]


@dataclass(frozen=True)
class RegistryEntry:
    """One registration record: the vehicle and its (fictional) owner."""

    plate_text: str
    plate_printed: str
    plate_colour: str
    vehicle_class: str
    vehicle_type: str
    brand: str
    model: str
    colour: str
    owner_kind: str  # "individual" | "organisation"
    owner_name: str
    id_number: str  # CCCD (12 digits) for a person, tax code (10 digits) for an organisation
    address: str
    province: str  # where the owner lives (usually the plate's province)
    phone: str
    registered_on: str  # YYYY-MM-DD


def _rng(seed: int, plate_text: str) -> np.random.Generator:
    digest = hashlib.sha256(f"phatnguoi-registry|{seed}|{plate_text}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _choice(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def province_of(plate_text: str) -> str:
    """Province whose code the plate carries ("TP. Hồ Chí Minh" for 51, 59, ...)."""
    parses = parse(plate_text)
    if not parses:
        raise ValueError(f"expected a valid plate, got {plate_text!r}")
    return _PROVINCE_OF_CODE.get(parses[0].province, "TP. Hồ Chí Minh")


def registry_entry(plate: SimPlate, *, seed: int, vehicle_class: str, colour: str = "") -> RegistryEntry:
    """The registration record of ``plate``: deterministic in (seed, plate text)."""
    rng = _rng(seed, plate.text)
    province = province_of(plate.text)
    organisation = plate.colour.value in ("yellow", "blue", "red") or (
        vehicle_class in ("bus", "truck") and rng.random() < 0.8
    )
    if province != "TP. Hồ Chí Minh" and rng.random() < 0.25:
        province = "TP. Hồ Chí Minh"  # registered elsewhere, owner now lives in the city
    if province == "TP. Hồ Chí Minh":
        ward = _choice(rng, _WARDS[province])
        street = _choice(rng, _STREETS_HCM)
    else:
        ward = _choice(rng, _WARDS.get(province, [province.replace("TP. ", "")]))
        street = _choice(rng, _STREETS)
    number = f"{int(rng.integers(1, 400))}" + (f"/{int(rng.integers(1, 60))}" if rng.random() < 0.35 else "")
    address = f"{number} {street}, phường {ward}, {province}"
    if organisation:
        if plate.colour.value == "blue":
            name = f"Ủy ban nhân dân phường {ward}"
        elif plate.colour.value == "red":
            name = "Đơn vị quân đội (biển đỏ)"
        else:
            name = _choice(rng, _COMPANIES)
        id_number = f"0{int(rng.integers(100_000_000, 999_999_999))}"
        kind = "organisation"
    else:
        sex = "m" if rng.random() < 0.55 else "f"
        weights = np.array([w for _, w in _FAMILY])
        family = _FAMILY[int(rng.choice(len(_FAMILY), p=weights / weights.sum()))][0]
        name = f"{family} {_choice(rng, _MIDDLE[sex])} {_choice(rng, _GIVEN[sex])}"
        year = int(rng.integers(1960, 2007))
        century_sex = (0 if year < 2000 else 2) + (0 if sex == "m" else 1)
        prefix = _choice(rng, _CCCD_PREFIX.get(province, ["079"]))
        id_number = f"{prefix}{century_sex}{year % 100:02d}{int(rng.integers(0, 1_000_000)):06d}"
        kind = "individual"
    brand, models = _choice(rng, _BRANDS.get(vehicle_class, _BRANDS["car"]))
    phone = f"{_choice(rng, _PHONE_PREFIX)}{int(rng.integers(0, 10_000_000)):07d}"
    registered = (
        f"{int(rng.integers(2012, 2026))}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"
    )
    return RegistryEntry(
        plate_text=plate.text,
        plate_printed=plate.printed,
        plate_colour=plate.colour.value,
        vehicle_class=vehicle_class,
        vehicle_type=_VEHICLE_TYPE.get(vehicle_class, vehicle_class),
        brand=brand,
        model=_choice(rng, models),
        colour=colour or "Không rõ",
        owner_kind=kind,
        owner_name=name,
        id_number=id_number,
        address=address,
        province=province,
        phone=phone,
        registered_on=registered,
    )


FIELDS = [f.name for f in fields(RegistryEntry)]


def write_registry(entries: list[RegistryEntry], path: Path) -> Path:
    """Write entries as CSV (``.csv``, UTF-8) or JSON (``.json``), sorted by plate."""
    path = Path(path)
    rows = sorted(entries, key=lambda e: e.plate_text)
    if path.suffix == ".json":
        path.write_text(
            json.dumps([asdict(e) for e in rows], ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        return path
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for e in rows:
            writer.writerow(asdict(e))
    return path


def load_registry(path: str | Path) -> dict[str, RegistryEntry]:
    """Read a registry written by ``write_registry`` (CSV or JSON): plate text -> entry.

    Raises ``ValueError`` naming the file and row when a row is missing a field or a plate repeats.
    """
    path = Path(path)
    try:
        if path.suffix == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
        else:
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
    except (OSError, json.JSONDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: cannot read registry: {exc}") from exc
    out: dict[str, RegistryEntry] = {}
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ValueError(f"{path}: row {n}: expected a record, got {type(row).__name__}")
        missing = [f for f in FIELDS if f not in row or row[f] is None]
        if missing:
            raise ValueError(f"{path}: row {n}: expected fields {missing}, got {sorted(row)}")
        entry = RegistryEntry(**{f: str(row[f]) for f in FIELDS})
        if entry.plate_text in out:
            raise ValueError(f"{path}: row {n}: duplicate plate {entry.plate_text!r}")
        out[entry.plate_text] = entry
    return out
