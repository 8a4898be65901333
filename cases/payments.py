"""Payment of a decision's fine through a payment adapter, confirmed by a signed callback.

The adapters (National Public Service Portal, a bank, the post office) are simulated here behind
``PaymentGateway``; each reports a payment by calling back with a JSON body signed with
HMAC-SHA256 under a shared secret (header ``X-Payment-Signature: sha256=<hex>``). The callback is
verified before its body is even parsed: a forged or altered one is refused and audited, and
changes nothing else. A genuine one records a verified ``Payment`` (idempotent on the provider's
reference, so a provider retrying its callback is harmless) and closes the case as PAID once the
fine and the late interest (0.05 %/day after the deadline) are covered; closing lifts the warning
flag and queues the ``warning_ended`` notice (``cases.states``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.deadlines import DeadlinePolicy, late_interest
from cases.models import AuditLog, Case, Decision, Payment
from cases.states import IllegalTransition, Outcome, Status, transition

SIGNATURE_HEADER = "X-Payment-Signature"
CALLBACK_ACTOR = "payment:callback"


class PaymentError(ValueError):
    """A callback or a payment that cannot be accepted; ``status_code`` is the HTTP answer."""

    status_code = 422


class ForgedCallback(PaymentError):
    status_code = 403


class UnknownCase(PaymentError):
    status_code = 404


class NotPayable(PaymentError):
    status_code = 409


def derive_secret(secret_key: str) -> str:
    """The callback secret when none is configured: bound to the service's secret key but
    distinct from it, so a leaked callback secret does not sign sessions."""
    return hmac.new(secret_key.encode(), b"phatnguoi.payment-callback.v1", hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(sign(secret, body), signature or "")


class PaymentCallback(BaseModel):
    """The callback body, version 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1, max_length=40)
    reference: str = Field(min_length=1, max_length=100)
    case_number: str = Field(min_length=1, max_length=80)
    amount_vnd: int = Field(gt=0, lt=10**12)
    paid_at: AwareDatetime


@dataclass(frozen=True)
class PaymentRequest:
    provider: str
    reference: str
    case_number: str
    amount_vnd: int
    pay_url: str


class PaymentGateway(Protocol):
    name: str

    def request(self, *, case_number: str, amount_vnd: int) -> PaymentRequest: ...


class SimulatedGateway:
    """Stands in for a real provider: hands out references and, for tests and the demo, produces
    the signed callback the provider would send."""

    name = "sim"

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("expected a payment callback secret of at least 16 characters")
        self._secret = secret

    def request(self, *, case_number: str, amount_vnd: int) -> PaymentRequest:
        reference = f"SIM-{uuid.uuid4().hex[:16].upper()}"
        return PaymentRequest(self.name, reference, case_number, amount_vnd, f"https://pay.example/sim/{reference}")

    def callback(
        self, request: PaymentRequest, *, paid_at: datetime, amount_vnd: int | None = None
    ) -> tuple[bytes, str]:
        """``(body, signature header value)`` of the provider's callback for ``request``."""
        body = json.dumps(
            {
                "provider": request.provider,
                "reference": request.reference,
                "case_number": request.case_number,
                "amount_vnd": request.amount_vnd if amount_vnd is None else amount_vnd,
                "paid_at": paid_at.isoformat(),
            },
            sort_keys=True,
        ).encode()
        return body, sign(self._secret, body)


GATEWAYS: dict[str, type[SimulatedGateway]] = {"sim": SimulatedGateway}


def make_gateway(kind: str, secret: str) -> PaymentGateway:
    try:
        return GATEWAYS[kind](secret)
    except KeyError:
        raise ValueError(f"unknown payment gateway {kind!r}; known: {sorted(GATEWAYS)}") from None


@dataclass(frozen=True)
class AmountDue:
    fine_vnd: int
    interest_vnd: int
    paid_vnd: int

    @property
    def outstanding_vnd(self) -> int:
        return max(0, self.fine_vnd + self.interest_vnd - self.paid_vnd)


def amount_due(session: Session, case: Case, *, at: datetime, policy: DeadlinePolicy | None = None) -> AmountDue:
    decision = session.scalar(select(Decision).where(Decision.case_id == case.id))
    if decision is None:
        raise NotPayable(f"case {case.case_number} has no penalty decision to pay")
    paid = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_vnd), 0)).where(
            Payment.case_id == case.id, Payment.verified.is_(True)
        )
    )
    return AmountDue(decision.fine_vnd, late_interest(decision.fine_vnd, decision.pay_by, at, policy), int(paid or 0))


def request_payment(
    *, session: Session, case_id: int, gateway: PaymentGateway, now: datetime | None = None
) -> PaymentRequest:
    case = session.get(Case, case_id)
    if case is None:
        raise UnknownCase(f"no case with id {case_id}")
    if case.status != Status.DECIDED:
        raise NotPayable(f"case {case.case_number} is {case.status}: only a decided case is paid")
    due = amount_due(session, case, at=now or datetime.now(UTC))
    return gateway.request(case_number=case.case_number, amount_vnd=due.outstanding_vnd)


def record_payment(
    *,
    session: Session,
    case: Case,
    provider: str,
    reference: str,
    amount_vnd: int,
    paid_at: datetime,
    actor: str,
    policy: DeadlinePolicy | None = None,
    now: datetime | None = None,
) -> tuple[Payment, bool]:
    """Record a verified payment; ``(payment, created)``. Closes the case as PAID when the fine and
    the late interest at ``paid_at`` are covered. A known (provider, reference) is returned as it
    is (``created`` False)."""
    existing = session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.provider_reference == reference)
    )
    if existing is not None:
        return existing, False
    if case.status != Status.DECIDED:
        raise NotPayable(f"case {case.case_number} is {case.status}: only a decided case is paid")
    now = now or datetime.now(UTC)
    due = amount_due(session, case, at=paid_at, policy=policy)
    fine_part = min(amount_vnd, max(0, due.fine_vnd - min(due.paid_vnd, due.fine_vnd)))
    payment = Payment(
        case_id=case.id,
        provider=provider,
        provider_reference=reference,
        amount_vnd=amount_vnd,
        fine_vnd=fine_part,
        late_interest_vnd=amount_vnd - fine_part,
        paid_at=paid_at,
        verified=True,
        recorded_by=actor,
        created_at=now,
    )
    session.add(payment)
    session.flush()
    if amount_vnd >= due.outstanding_vnd:
        try:
            transition(
                session,
                case,
                to=Status.CLOSED,
                outcome=Outcome.PAID,
                actor=actor,
                at=now,
                reason=f"paid {due.fine_vnd} + {due.interest_vnd} late interest VND via {provider} {reference}",
            )
        except IllegalTransition as exc:
            raise NotPayable(str(exc)) from exc
    return payment, True


def _refuse(session: Session, *, why: str, case_number: str | None, now: datetime) -> None:
    case_id = session.scalar(select(Case.id).where(Case.case_number == case_number)) if case_number else None
    session.add(AuditLog(case_id=case_id, actor=CALLBACK_ACTOR, at=now, reason=why[:1000]))
    session.flush()


def handle_callback(
    *,
    session: Session,
    body: bytes,
    signature: str | None,
    secret: str,
    policy: DeadlinePolicy | None = None,
    now: datetime | None = None,
) -> tuple[Payment, bool]:
    """Verify, then record. A bad signature raises ``ForgedCallback`` after adding an audit row:
    the caller commits that row (and nothing else exists to commit) and answers 403."""
    now = now or datetime.now(UTC)
    if not verify(secret, body, signature):
        claimed = None
        try:
            raw = json.loads(body)
            claimed = str(raw.get("case_number"))[:80] if isinstance(raw, dict) else None
        except ValueError:
            pass
        _refuse(
            session,
            why=f"forged payment callback refused: bad or missing {SIGNATURE_HEADER} "
            f"(claimed case {claimed!r}, {len(body)} bytes)",
            case_number=claimed,
            now=now,
        )
        raise ForgedCallback("payment callback signature does not verify")
    try:
        callback = PaymentCallback.model_validate_json(body)
    except ValidationError as exc:
        raise PaymentError(f"expected a payment callback document, got: {exc}") from exc
    case = session.scalar(select(Case).where(Case.case_number == callback.case_number))
    if case is None:
        raise UnknownCase(f"no case {callback.case_number}")
    return record_payment(
        session=session,
        case=case,
        provider=callback.provider,
        reference=callback.reference,
        amount_vnd=callback.amount_vnd,
        paid_at=callback.paid_at,
        actor=CALLBACK_ACTOR,
        policy=policy,
        now=now,
    )
