"""Delivery channels behind one interface: ``NoticeChannel.send(outgoing) -> receipt``.

- ``postal``: the notice goes into its unit's daily print batch (``notices.batch``) with a UPU S10
  tracking number; the receipt is that number.
- ``email``: SMTP with the PDF attached; the receipt is the Message-ID (deterministic per case and
  type, so a receiving system can drop a duplicate after a crash between send and commit).
- ``sms`` and ``vneid``: HTTP gateways with one contract (POST JSON, ``Idempotency-Key`` header,
  answer ``{"message_id": ...}``); simulated locally by ``notices.gateway_sim``.

A channel raises ``ChannelUnavailable`` when the addressee cannot be reached on it at all (no
e-mail address, a 4xx from the gateway): the worker falls back to the next channel at once. Any
other ``ChannelError`` is transient (timeout, 5xx, refused connection): retried with backoff.
"""

from __future__ import annotations

import base64
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx

from notices.types import NoticeType


class ChannelError(RuntimeError):
    """A transient failure: try this channel again later."""


class ChannelUnavailable(ChannelError):
    """The addressee cannot be reached on this channel: fall back to the next one now."""


@dataclass(frozen=True)
class Recipient:
    name: str
    address: str = ""
    email: str = ""
    phone: str = ""
    vneid: str = ""  # the citizen ID number a VNeID account is keyed on


@dataclass(frozen=True)
class Outgoing:
    """One rendered notice on its way out."""

    delivery_id: int
    case_id: int
    case_number: str
    notice_type: NoticeType
    recipient: Recipient
    subject: str
    text: str  # short text with the verification link (SMS, app push, e-mail body)
    pdf: bytes
    verify_url: str

    @property
    def idempotency_key(self) -> str:
        return f"notice-{self.case_id}-{self.notice_type}"


class NoticeChannel(Protocol):
    name: str

    def send(self, outgoing: Outgoing) -> str:
        """Deliver ``outgoing``; return the receipt (tracking number, message id)."""
        ...


def s10_tracking_number(serial: int, *, prefix: str = "RE", country: str = "VN") -> str:
    """A UPU S10 item identifier (``RE123456785VN``): 8-digit serial plus its check digit."""
    if not 0 <= serial < 10**8:
        raise ValueError(f"expected a serial of at most 8 digits, got {serial}")
    digits = [int(d) for d in f"{serial:08d}"]
    check = 11 - sum(d * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    check = {10: 0, 11: 5}.get(check, check)
    return f"{prefix}{serial:08d}{check}{country}"


class PostalChannel:
    """Paper by post: assigns the tracking number; the print batch prints and hands it over."""

    name = "postal"

    def send(self, outgoing: Outgoing) -> str:
        if not outgoing.recipient.address.strip():
            raise ChannelUnavailable("no postal address")
        return s10_tracking_number(outgoing.delivery_id)


@dataclass
class EmailChannel:
    host: str
    port: int = 25
    sender: str = "thongbao@csgt.example.vn"
    timeout_s: float = 10.0
    starttls: bool = False
    username: str = ""
    password: str = ""
    name: str = "email"

    def send(self, outgoing: Outgoing) -> str:
        to = outgoing.recipient.email.strip()
        if not to:
            raise ChannelUnavailable("no e-mail address")
        message = EmailMessage()
        message_id = f"<{outgoing.idempotency_key}@phatnguoi>"
        message["Message-ID"] = message_id
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = outgoing.subject
        message.set_content(outgoing.text)
        message.add_attachment(
            outgoing.pdf, maintype="application", subtype="pdf", filename=f"{outgoing.case_number}.pdf"
        )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelUnavailable(f"recipient refused: {exc.recipients}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        if refused:
            raise ChannelUnavailable(f"recipient refused: {refused}")
        return message_id


@dataclass
class HttpGatewayChannel:
    """SMS and VNeID: POST the message to a gateway that answers ``{"message_id": ...}``."""

    name: str
    url: str
    token: str = ""
    timeout_s: float = 5.0
    attach_pdf: bool = False  # the app shows the PDF; an SMS carries only the text and the link

    def _to(self, recipient: Recipient) -> str:
        return recipient.phone if self.name == "sms" else recipient.vneid

    def send(self, outgoing: Outgoing) -> str:
        to = self._to(outgoing.recipient).strip()
        if not to:
            raise ChannelUnavailable(f"no {self.name} address")
        body: dict[str, str] = {
            "to": to,
            "case_number": outgoing.case_number,
            "notice_type": str(outgoing.notice_type),
            "text": outgoing.text,
            "verify_url": outgoing.verify_url,
        }
        if self.attach_pdf:
            body["pdf_base64"] = base64.b64encode(outgoing.pdf).decode("ascii")
        headers = {"Idempotency-Key": outgoing.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{self.name} gateway {self.url}: {exc}") from exc
        if 400 <= response.status_code < 500:
            raise ChannelUnavailable(f"{self.name} gateway refused ({response.status_code}): {response.text[:200]}")
        if response.status_code >= 300:
            raise ChannelError(f"{self.name} gateway answered {response.status_code}")
        try:
            message_id = str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ChannelError(
                f"{self.name} gateway: expected JSON with message_id, got {response.text[:200]!r}"
            ) from exc
        return message_id


ChannelFactory = Callable[[Mapping[str, object]], NoticeChannel]

CHANNEL_TYPES: dict[str, ChannelFactory] = {
    "postal": lambda cfg: PostalChannel(),
    "email": lambda cfg: EmailChannel(**cfg),  # type: ignore[arg-type]
    "sms": lambda cfg: HttpGatewayChannel(name="sms", **cfg),  # type: ignore[arg-type]
    "vneid": lambda cfg: HttpGatewayChannel(name="vneid", attach_pdf=True, **cfg),  # type: ignore[arg-type]
}


def build_channel(kind: str, config: Mapping[str, object] | None = None) -> NoticeChannel:
    """A channel from its config ``type``; an unknown type lists the known ones."""
    try:
        factory = CHANNEL_TYPES[kind]
    except KeyError as exc:
        raise ValueError(f"expected a channel type in {sorted(CHANNEL_TYPES)}, got {kind!r}") from exc
    return factory(dict(config or {}))


def channels_from(section: object) -> dict[str, NoticeChannel]:
    """The channels a ``NoticesSettings`` section lists and configures (a listed channel without
    its server is an error naming the missing setting)."""
    built: dict[str, NoticeChannel] = {}
    token = section.gateway_token.get_secret_value()  # type: ignore[attr-defined]
    for name in section.channels:  # type: ignore[attr-defined]
        if name == "postal":
            built[name] = PostalChannel()
        elif name == "email":
            if not section.smtp_host:  # type: ignore[attr-defined]
                raise ValueError("notices.channels lists 'email' but notices.smtp_host is empty")
            built[name] = EmailChannel(
                host=section.smtp_host,  # type: ignore[attr-defined]
                port=section.smtp_port,  # type: ignore[attr-defined]
                sender=section.smtp_sender,  # type: ignore[attr-defined]
                starttls=section.smtp_starttls,  # type: ignore[attr-defined]
                username=section.smtp_username,  # type: ignore[attr-defined]
                password=section.smtp_password.get_secret_value(),  # type: ignore[attr-defined]
            )
        else:
            url = getattr(section, f"{name}_gateway_url")
            if not url:
                raise ValueError(f"notices.channels lists {name!r} but notices.{name}_gateway_url is empty")
            built[name] = HttpGatewayChannel(name=name, url=url, token=token, attach_pdf=name == "vneid")
    return built
