"""Evidence extraction: frames before / at / after the violation, crops, a frame strip, each
with a burned-in data bar, stored content-addressed, and the package signed.

* ``FrameRing`` keeps each camera's recent frames as their JPEG bytes (cheap: about 100 KB a
  frame instead of 2.7 MB decoded) and decodes only what becomes evidence.
* ``burn_data_bar`` appends a bar *below* the image (the scene itself is never painted over):
  local time to the millisecond (Asia/Ho_Chi_Minh), place, camera id, rule, measured value,
  signal phase. Vietnamese text needs a TrueType font with its diacritics; without one the
  text is folded to ASCII rather than drawn as boxes.
* public copies (``<role>_public``) of every image, with bystanders' plates and people's heads
  blurred (``detection.evidence_privacy``), for the public lookup; the originals stay as they are.
* ``sign_package`` is an HMAC-SHA256 over a canonical JSON of the event (every field but the
  signature, evidence sorted by role): any change to an image (its sha256), a measured value,
  a version or a threshold breaks ``verify_package``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from detection.evidence_privacy import FrameObjects, blur_regions, private_regions
from detection.evidence_store import EvidenceError, EvidenceStore
from detection.types import Box, EvidenceRef, Measurement, Rule, SignalPhase, ViolationEvent
from ingest.camera import CameraConfig

try:
    from zoneinfo import ZoneInfo

    LOCAL_TZ: timezone | ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # no tz database: Vietnam has kept UTC+7 without DST since 1975
    LOCAL_TZ = timezone(timedelta(hours=7), "ICT")

_REPO = Path(__file__).resolve().parent.parent
FONT_CANDIDATES: list[Path] = [
    _REPO / "notices" / "fonts" / "DejaVuSans.ttf",
    _REPO / "ingest" / "sim" / "fonts" / "DejaVuSans.ttf",
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    _REPO / "ingest" / "sim" / "fonts" / "RobotoCondensed-Regular.ttf",
]

PHASE_NAMES_VI: dict[SignalPhase, str] = {
    SignalPhase.RED: "ĐỎ",
    SignalPhase.YELLOW: "VÀNG",
    SignalPhase.GREEN: "XANH",
    SignalPhase.UNKNOWN: "KHÔNG RÕ",
}
RULE_NAMES_VI: dict[Rule, str] = {
    Rule.RED_LIGHT: "Vượt đèn đỏ",
    Rule.SPEEDING: "Chạy quá tốc độ",
    Rule.WRONG_WAY: "Đi ngược chiều",
    Rule.WRONG_LANE: "Đi không đúng làn",
    Rule.NO_STOPPING: "Dừng xe nơi cấm dừng",
}
ROLE_NAMES_VI = {
    "before": "trước vi phạm",
    "at": "lúc vi phạm",
    "after": "sau vi phạm",
    "vehicle": "phương tiện",
    "plate": "biển số",
    "strip": "chuỗi ảnh",
}
PUBLIC_SUFFIX = "_public"


# --- the frame ring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BufferedFrame:
    sequence: int
    t_ns: int
    jpeg: bytes
    objects: FrameObjects | None = None  # what the stage saw on it (for the public copy's blurring)

    def decode(self) -> np.ndarray:
        image = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"frame {self.sequence}: cannot decode JPEG ({len(self.jpeg)} bytes)")
        return image


class FrameRing:
    """The last ``capacity`` frames of one camera, in sequence order."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"expected capacity >= 1, got {capacity}")
        self._frames: deque[BufferedFrame] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._frames)

    def append(self, frame: BufferedFrame) -> None:
        if self._frames and frame.sequence <= self._frames[-1].sequence:
            raise ValueError(
                f"expected increasing sequence, got {frame.sequence} after {self._frames[-1].sequence}"
            )
        self._frames.append(frame)

    @property
    def latest(self) -> BufferedFrame | None:
        return self._frames[-1] if self._frames else None

    def nearest(self, sequence: int, *, direction: int = 0) -> BufferedFrame | None:
        """The frame with ``sequence``, else the closest one at or before it (direction -1),
        at or after it (+1) or either way (0); None if the ring holds none."""
        best = None
        for f in self._frames:
            d = f.sequence - sequence
            if direction < 0 and d > 0 or direction > 0 and d < 0:
                continue
            if best is None or abs(d) < abs(best.sequence - sequence):
                best = f
        return best

    def annotate(self, sequence: int, objects: FrameObjects) -> None:
        """Attach what the stage saw to the buffered frame ``sequence`` (no-op if it is gone)."""
        for i in range(len(self._frames) - 1, -1, -1):
            f = self._frames[i]
            if f.sequence == sequence:
                self._frames[i] = BufferedFrame(f.sequence, f.t_ns, f.jpeg, objects)
                return
            if f.sequence < sequence:
                return

    def between(self, first: int, last: int) -> list[BufferedFrame]:
        return [f for f in self._frames if first <= f.sequence <= last]


# --- the data bar -------------------------------------------------------------------------------


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics: ``"Đống Đa"`` -> ``"Dong Da"``."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .encode("ascii", "replace")
        .decode("ascii")
    )


@lru_cache(maxsize=16)
def load_font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """(font, has_vietnamese): the first TrueType font found, else PIL's built-in bitmap font."""
    for path in FONT_CANDIDATES:
        if path.is_file():
            try:
                return ImageFont.truetype(str(path), size), True
            except OSError:
                continue
    return ImageFont.load_default(), False


def local_time(t_ns: int) -> str:
    """``2026-11-22 17:49:47.123 GMT+07`` (millisecond, Vietnam local time)."""
    dt = (
        datetime.fromtimestamp(t_ns // 1_000_000_000, tz=UTC)
        .replace(microsecond=(t_ns % 1_000_000_000) // 1000)
        .astimezone(LOCAL_TZ)
    )
    offset = dt.utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    return f"{dt:%Y-%m-%d %H:%M:%S}.{dt.microsecond // 1000:03d} GMT{hours:+03d}"


def describe_measurement(rule: Rule, m: Measurement) -> str:
    """The measured value, as printed on the evidence."""
    if rule == Rule.RED_LIGHT:
        if m.seconds_since_red is not None:
            return f"{m.seconds_since_red:.2f} s sau khi đèn đỏ"
        return f"đèn {m.signal_phase}" if m.signal_phase else "-"
    if rule == Rule.SPEEDING and m.speed_kmh is not None:
        return f"{m.speed_kmh:.1f} ± {m.speed_uncertainty_kmh or 0:.1f} km/h (giới hạn {m.speed_limit_kmh:g})"
    if m.dwell_s is not None:
        return f"dừng {m.dwell_s:.1f} s"
    return "-"


@dataclass(frozen=True)
class BarInfo:
    """What the data bar of every image in one package says (the time is each image's own)."""

    camera: CameraConfig
    rule: Rule
    rule_version: str
    measurement: Measurement
    violation_id: str
    # the signal phase when each image was taken; without it, the phase measured for the rule
    phase_at: Callable[[int], SignalPhase] | None = None

    def lines(self, t_ns: int, role: str, sequence: int | None) -> list[str]:
        """Fields are separated by `` | ``; ``burn_data_bar`` wraps a line at them."""
        phase = self.phase_at(t_ns) if self.phase_at else self.measurement.signal_phase
        frame = f" | khung {sequence}" if sequence is not None else ""
        signal = f" | Đèn: {PHASE_NAMES_VI[phase]}" if self.camera.signal is not None and phase else ""
        base = role.removesuffix(PUBLIC_SUFFIX)
        label = ROLE_NAMES_VI.get(base, base) + (" (bản công khai)" if role != base else "")
        return [
            f"{local_time(t_ns)} | {self.camera.id} | {self.camera.name} | {self.camera.address}",
            f"{RULE_NAMES_VI.get(self.rule, self.rule.value)} ({self.rule_version}) | "
            f"{describe_measurement(self.rule, self.measurement)}{signal} | "
            f"{label}{frame} | {self.violation_id}",
        ]


def _wrap(lines: Sequence[str], font: Any, width: float) -> list[str]:
    """Break each line that is too wide at its `` | `` separators (a single field that is still
    too wide is kept whole: it is clipped rather than broken mid-word)."""
    out: list[str] = []
    for line in lines:
        current = ""
        for part in line.split(" | "):
            candidate = f"{current} | {part}" if current else part
            if current and font.getlength(candidate) > width:
                out.append(current)
                current = part
            else:
                current = candidate
        out.append(current)
    return out


def burn_data_bar(image: np.ndarray, lines: Sequence[str], *, min_width: int = 640) -> np.ndarray:
    """A new image: ``image`` (upscaled to ``min_width`` if narrower) with a black bar of
    ``lines`` appended below it. The input is not modified."""
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ValueError(f"expected a non-empty BGR image, got shape {image.shape}")
    h, w = image.shape[:2]
    if w < min_width:
        scale = min_width / w
        image = cv2.resize(image, (min_width, max(1, round(h * scale))), interpolation=cv2.INTER_CUBIC)
        h, w = image.shape[:2]
    size = max(12, w // 64)
    font, unicode_ok = load_font(size)
    if not unicode_ok:
        lines = [ascii_fold(line) for line in lines]
    lines = _wrap(lines, font, w - size)
    line_h = int(size * 1.35)
    bar_h = line_h * len(lines) + size // 2
    canvas = Image.new("RGB", (w, h + bar_h), (0, 0, 0))
    canvas.paste(Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((size // 2, h + size // 4 + i * line_h), line, fill=(255, 255, 0), font=font)
    return cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR)


# --- extraction ---------------------------------------------------------------------------------


def crop(image: np.ndarray, box: Box, *, pad: float = 0.1) -> np.ndarray | None:
    """``box`` grown by ``pad`` of its size on each side, clipped to the image; None if empty."""
    bw, bh = box.x2 - box.x1, box.y2 - box.y1
    x1 = max(0, int(box.x1 - pad * bw))
    y1 = max(0, int(box.y1 - pad * bh))
    x2 = min(image.shape[1], int(np.ceil(box.x2 + pad * bw)))
    y2 = min(image.shape[0], int(np.ceil(box.y2 + pad * bh)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return image[y1:y2, x1:x2].copy()


@dataclass(frozen=True)
class EvidenceInput:
    """What one violation's package is built from."""

    before: BufferedFrame
    at: BufferedFrame
    after: BufferedFrame
    vehicle_box: Box  # in the "at" frame
    plate_crop: np.ndarray | None = None
    plate_sequence: int | None = None
    plate_t_ns: int | None = None
    strip: tuple[BufferedFrame, ...] = ()
    # the vehicle's box on other frames (by sequence), outlined so a reviewer sees which vehicle
    boxes: Mapping[int, Box] = field(default_factory=dict)
    violator: int | None = None  # the violator's tracker id: its plate stays sharp in public copies


def outline(image: np.ndarray, box: Box | None) -> np.ndarray:
    """A copy of ``image`` with ``box`` outlined (magenta, 2 px); the input is not modified."""
    out = image.copy()
    if box is not None:
        p1 = (int(box.x1) - 3, int(box.y1) - 3)
        p2 = (int(box.x2) + 3, int(box.y2) + 3)
        cv2.rectangle(out, p1, p2, (255, 0, 255), 2)
    return out


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot JPEG-encode an image of shape {image.shape}")
    return buf.tobytes()


def public_image(frame: BufferedFrame, image: np.ndarray, violator: int | None) -> np.ndarray | None:
    """``image`` (of ``frame``) with bystanders' plates and heads blurred; None when the frame
    does not say what was on it (a public copy that might show a bystander is not made)."""
    if frame.objects is None:
        return None
    return blur_regions(image, private_regions(frame.objects, violator, image))


def store_evidence(
    source: EvidenceInput, info: BarInfo, store: EvidenceStore, *, jpeg_quality: int = 90
) -> list[EvidenceRef]:
    """Burn the data bar into each image, JPEG-encode, store; returns the references.

    Roles: before, at, after, vehicle (crop of the "at" frame), plate (the best-read plate
    crop, when there is one) and strip (thumbnails of ``source.strip``, when given); each with
    a public copy ``<role>_public`` where the frames say what was on them (the plate's public
    copy is the same crop: it is the violator's own plate)."""
    refs: list[EvidenceRef] = []

    def put(role: str, image: np.ndarray, t_ns: int, sequence: int | None) -> None:
        burned = burn_data_bar(image, info.lines(t_ns, role, sequence))
        key = store.put(encode_jpeg(burned, jpeg_quality), content_type="image/jpeg")
        refs.append(EvidenceRef(role=role, sha256=key, key=key, frame_sequence=sequence))

    at_image = source.at.decode()
    at_public = public_image(source.at, at_image, source.violator)
    boxes = {**source.boxes, source.at.sequence: source.vehicle_box}
    for role, frame in (("before", source.before), ("at", source.at), ("after", source.after)):
        image = at_image if frame is source.at else frame.decode()
        box = boxes.get(frame.sequence)
        put(role, outline(image, box), frame.t_ns, frame.sequence)
        blurred = at_public if frame is source.at else public_image(frame, image, source.violator)
        if blurred is not None:
            put(role + PUBLIC_SUFFIX, outline(blurred, box), frame.t_ns, frame.sequence)
    vehicle = crop(at_image, source.vehicle_box, pad=0.15)
    if vehicle is not None:
        put("vehicle", vehicle, source.at.t_ns, source.at.sequence)
        if at_public is not None:
            public_vehicle = crop(at_public, source.vehicle_box, pad=0.15)
            assert public_vehicle is not None
            put("vehicle" + PUBLIC_SUFFIX, public_vehicle, source.at.t_ns, source.at.sequence)
    if source.plate_crop is not None and source.plate_crop.size:
        t_plate = source.plate_t_ns or source.at.t_ns
        put("plate", source.plate_crop, t_plate, source.plate_sequence)
        if at_public is not None:
            put("plate" + PUBLIC_SUFFIX, source.plate_crop, t_plate, source.plate_sequence)
    if source.strip:
        thumbs, public_thumbs = [], []
        th = 240
        for frame in source.strip:
            decoded = frame.decode()
            size = (max(1, round(decoded.shape[1] * th / decoded.shape[0])), th)
            thumbs.append(cv2.resize(outline(decoded, boxes.get(frame.sequence)), size))
            blurred = public_image(frame, decoded, source.violator)
            if blurred is not None:
                public_thumbs.append(cv2.resize(outline(blurred, boxes.get(frame.sequence)), size))
        put("strip", cv2.hconcat(thumbs), source.at.t_ns, source.at.sequence)
        if len(public_thumbs) == len(thumbs):
            put("strip" + PUBLIC_SUFFIX, cv2.hconcat(public_thumbs), source.at.t_ns, source.at.sequence)
    return refs


# --- signing ------------------------------------------------------------------------------------


def canonical_package(event: ViolationEvent) -> bytes:
    """The bytes that are signed: every field but the signature, evidence sorted, keys sorted."""
    doc = event.model_dump(mode="json", exclude={"evidence_signature"})
    doc["evidence"] = sorted(doc["evidence"], key=lambda e: (e["role"], e["sha256"]))
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_package(event: ViolationEvent, key: bytes) -> str:
    """HMAC-SHA256 hex over ``canonical_package(event)``."""
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError("expected a signing key of at least 16 bytes")
    return hmac.new(key, canonical_package(event), hashlib.sha256).hexdigest()


def signed(event: ViolationEvent, key: bytes) -> ViolationEvent:
    return event.model_copy(update={"evidence_signature": sign_package(event, key)})


def package_problems(event: ViolationEvent, *, key: bytes, store: EvidenceStore | None = None) -> list[str]:
    """Every reason the package cannot be trusted; ``[]`` when it verifies. With ``store``, each
    image is also fetched and must still hash to its recorded sha256."""
    problems = []
    if not hmac.compare_digest(event.evidence_signature, sign_package(event, key)):
        problems.append("signature does not match the event (a field or an image reference changed)")
    for ref in event.evidence:
        if store is None:
            continue
        try:
            data = store.get(ref.key)
        except (EvidenceError, KeyError, ValueError) as exc:
            problems.append(f"{ref.role}: {exc}")
            continue
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            problems.append(f"{ref.role}: stored image does not hash to {ref.sha256}")
    return problems


def verify_package(event: ViolationEvent, *, key: bytes, store: EvidenceStore | None = None) -> bool:
    """True when the signature matches and (with ``store``) every image is intact."""
    return not package_problems(event, key=key, store=store)
