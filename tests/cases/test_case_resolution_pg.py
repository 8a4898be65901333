"""Steps 5 and 6 on the real PostgreSQL: appointment, appearance, driver identification (the fine
moves to the driver), record and decision numbers, payment through the signed callback (genuine,
replayed, forged, altered, late), transfer, dismissal; and personal data encrypted at rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from builders import PII_KEY, registry_csv, violation_event
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from cases import payments, resolution, review
from cases.intake import ingest_violation
from cases.models import AuditLog, Case, DeadlineFlag, Decision, OutboxMessage, Owner, Payment, Statement, Transfer
from cases.pii import PiiCipher, PiiKeyError
from cases.registry import import_registry_csv, owner_details
from cases.rekey import reencrypt
from cases.states import Outcome, Status, transition
from cases.types import FlagKind
from detection.evidence_store import FileEvidenceStore
from phatnguoi.web import create_app

pytestmark = pytest.mark.integration
SECRET_KEY = "resolution-test-secret-key-0123456789"
CALLBACK_SECRET = payments.derive_secret(SECRET_KEY)
T0 = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)


def notices(session, case_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "render_notice")).all()
    return sorted(r.payload["type"] for r in rows if r.payload["case_id"] == case_id)


def notified_case(session, tmp_path, track: str = "res-1") -> Case:  # type: ignore[no-untyped-def]
    if session.scalar(select(func.count()).select_from(Owner)) == 0:
        import_registry_csv(session, registry_csv(tmp_path / "registry.csv"), pii_key=PII_KEY)
    case = ingest_violation(session, violation_event(track=track))
    review.approve(session=session, case_id=case.id, actor="officer1", now=T0)
    transition(session, case, to=Status.NOTICE_PRINTED, actor="notices", at=T0)
    transition(session, case, to=Status.NOTIFIED, actor="notices", at=T0)
    return case


def resolving(session, case: Case, driver: bool = False) -> Case:  # type: ignore[no-untyped-def]
    resolution.record_appearance(session=session, case_id=case.id, actor="officer1", now=T0 + timedelta(days=3))
    if driver:
        resolution.record_statement(
            session=session,
            case_id=case.id,
            actor="officer1",
            kind="driver_identified",
            text="my brother drove",
            driver=resolution.Driver("Lê Văn Cường", "079200000001", "3 Hai Bà Trưng"),
            pii_key=PII_KEY,
            now=T0 + timedelta(days=3),
        )
    return case


@pytest.fixture
def client(pg_factory, tmp_path):  # type: ignore[no-untyped-def]
    app = create_app(
        session_factory=pg_factory,
        evidence_store=FileEvidenceStore(tmp_path / "ev"),
        secret_key=SECRET_KEY,
        pii_key=PII_KEY,
    )
    with TestClient(app) as test_client:
        yield test_client


def test_the_fine_moves_to_the_named_driver(pg_session, tmp_path):
    case = resolving(pg_session, notified_case(pg_session, tmp_path), driver=True)
    booked = resolution.book_appointment  # an appointment after appearing is allowed (a second visit)
    booked(
        session=pg_session,
        case_id=case.id,
        actor="officer1",
        scheduled_at=T0 + timedelta(days=5),
        now=T0 + timedelta(days=3),
        place="459 Trần Hưng Đạo",
    )
    decision = resolution.decide(
        session=pg_session, case_id=case.id, actor="officer1", fine_vnd=18_500_000, now=T0 + timedelta(days=4)
    )
    assert case.status == Status.DECIDED
    assert decision.person_fined == "driver" and decision.statement_id is not None
    assert PiiCipher(PII_KEY).decrypt(decision.fined_name_enc) == "Lê Văn Cường"
    assert decision.record_number == f"{decision.id:06d}/BB-2026"
    assert decision.decision_number == f"{decision.id:06d}/QĐ-XPHC-2026"
    assert decision.pay_by == T0 + timedelta(days=14)
    assert notices(pg_session, case.id) == ["decision", "first"]


def test_without_a_named_driver_the_owner_is_fined(pg_session, tmp_path):
    case = resolving(pg_session, notified_case(pg_session, tmp_path))
    decision = resolution.decide(session=pg_session, case_id=case.id, actor="o", fine_vnd=18_000_000)
    assert decision.person_fined == "owner"
    assert PiiCipher(PII_KEY).decrypt(decision.fined_name_enc) == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, c: resolution.decide(session=s, case_id=c, actor="o", fine_vnd=5_000_000), "between 18000000"),
        (
            lambda s, c: resolution.record_statement(
                session=s,
                case_id=c,
                actor="o",
                kind="driver_identified",
                driver=resolution.Driver("X", ""),
                pii_key=PII_KEY,
            ),
            "ID number",
        ),
        (
            lambda s, c: resolution.record_statement(session=s, case_id=c, actor="o", kind="bribe", pii_key=PII_KEY),
            "statement kind",
        ),
        (lambda s, c: resolution.dismiss(session=s, case_id=c, actor="o", reason=" "), "needs a reason"),
        (lambda s, c: resolution.close_expired(session=s, case_id=c, actor="o"), "expires only at"),
    ],
)
def test_refused_steps_change_nothing(pg_session, tmp_path, call, message):
    case = resolving(pg_session, notified_case(pg_session, tmp_path))
    before = (case.status, pg_session.scalar(select(func.count()).select_from(AuditLog)))
    with pytest.raises(resolution.ResolutionError, match=message):
        call(pg_session, case.id)
    assert (case.status, pg_session.scalar(select(func.count()).select_from(AuditLog))) == before


def test_transfer_closes_here_and_queues_the_transfer_notice(pg_session, tmp_path):
    case = notified_case(pg_session, tmp_path)
    resolution.transfer(
        session=pg_session,
        case_id=case.id,
        actor="officer1",
        to_unit_name="Công an xã Bình Chánh",
        reason="owner lives in Bình Chánh",
    )
    assert (case.status, case.outcome) == (Status.CLOSED, Outcome.TRANSFERRED)
    assert pg_session.scalar(select(Transfer.to_unit_name)) == "Công an xã Bình Chánh"
    assert notices(pg_session, case.id) == ["first", "transfer_local"]


def _decided(
    pg_session, tmp_path, track: str = "pay-1"
) -> tuple[Case, payments.PaymentRequest, payments.SimulatedGateway]:  # type: ignore[no-untyped-def]
    case = resolving(pg_session, notified_case(pg_session, tmp_path, track=track))
    resolution.decide(session=pg_session, case_id=case.id, actor="officer1", fine_vnd=18_000_000, now=T0)
    pg_session.add(DeadlineFlag(case_id=case.id, kind=FlagKind.WARNING, due_at=T0, raised_at=T0))
    pg_session.commit()
    gateway = payments.SimulatedGateway(CALLBACK_SECRET)
    return case, payments.request_payment(session=pg_session, case_id=case.id, gateway=gateway, now=T0), gateway


def test_genuine_callback_closes_the_case_lifts_the_warning_and_a_replay_changes_nothing(client, pg_factory, tmp_path):
    with pg_factory() as session:
        case, ask, gateway = _decided(session, tmp_path)
        assert ask.amount_vnd == 18_000_000
    body, signature = gateway.callback(ask, paid_at=T0 + timedelta(days=2))
    answer = client.post("/desk/payments/callback", content=body, headers={payments.SIGNATURE_HEADER: signature})
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"payment_id": 0} == {
        "payment_id": 0,
        "created": True,
        "case_status": "closed",
        "outcome": "paid",
    }
    replay = client.post("/desk/payments/callback", content=body, headers={payments.SIGNATURE_HEADER: signature})
    assert replay.status_code == 200 and replay.json()["created"] is False
    with pg_factory() as session:
        stored = session.get(Case, case.id)
        assert (stored.status, stored.outcome) == (Status.CLOSED, Outcome.PAID)
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
        assert session.scalar(select(Payment.verified)) is True
        flag = session.scalar(select(DeadlineFlag).where(DeadlineFlag.case_id == case.id))
        assert flag.cleared_at is not None
        assert notices(session, case.id) == ["decision", "first", "warning_ended"]


@pytest.mark.parametrize("forgery", ["wrong-key", "altered-amount", "no-signature", "garbage"])
def test_forged_callback_is_refused_audited_and_changes_nothing(client, pg_factory, tmp_path, forgery):
    with pg_factory() as session:
        case, ask, gateway = _decided(session, tmp_path, track=f"forge-{forgery}")
    body, signature = gateway.callback(ask, paid_at=T0)
    headers = {payments.SIGNATURE_HEADER: signature}
    if forgery == "wrong-key":
        body, sig = payments.SimulatedGateway("someone-else-secret-123").callback(ask, paid_at=T0)
        headers = {payments.SIGNATURE_HEADER: sig}
    elif forgery == "altered-amount":
        body = json.dumps(json.loads(body) | {"amount_vnd": 1}, sort_keys=True).encode()
    elif forgery == "no-signature":
        headers = {}
    else:
        body = b"\x00not json"
    answer = client.post("/desk/payments/callback", content=body, headers=headers)
    assert answer.status_code == 403
    with pg_factory() as session:
        assert session.get(Case, case.id).status == Status.DECIDED
        assert session.scalar(select(func.count()).select_from(Payment)) == 0
        refusal = session.scalars(select(AuditLog).where(AuditLog.actor == "payment:callback")).all()
        assert len(refusal) == 1 and refusal[0].reason.startswith("forged payment callback refused")
        assert refusal[0].case_id == (None if forgery == "garbage" else case.id)


def test_a_valid_signature_on_a_bad_document_is_a_422_and_an_unknown_case_a_404(client, pg_factory, tmp_path):
    bad = b'{"provider": "sim"}'
    answer = client.post(
        "/desk/payments/callback", content=bad, headers={payments.SIGNATURE_HEADER: payments.sign(CALLBACK_SECRET, bad)}
    )
    assert answer.status_code == 422 and "payment callback document" in answer.json()["detail"]
    ghost = json.dumps(
        {
            "provider": "sim",
            "reference": "R1",
            "case_number": "HCM-2026-999999",
            "amount_vnd": 10,
            "paid_at": T0.isoformat(),
        }
    ).encode()
    answer = client.post(
        "/desk/payments/callback",
        content=ghost,
        headers={payments.SIGNATURE_HEADER: payments.sign(CALLBACK_SECRET, ghost)},
    )
    assert answer.status_code == 404


def test_late_payment_owes_interest_and_closes_only_when_covered(pg_session, tmp_path):
    case, ask, _ = _decided(pg_session, tmp_path, track="late-1")
    decision = pg_session.scalar(select(Decision).where(Decision.case_id == case.id))
    paid_at = decision.pay_by + timedelta(days=3)
    due = payments.amount_due(pg_session, case, at=paid_at)
    assert (due.fine_vnd, due.interest_vnd) == (18_000_000, 27_000)  # 0.05 % x 3 days
    _, created = payments.record_payment(
        session=pg_session, case=case, provider="sim", reference="A", amount_vnd=18_000_000, paid_at=paid_at, actor="t"
    )
    assert created and case.status == Status.DECIDED
    payments.record_payment(
        session=pg_session, case=case, provider="sim", reference="B", amount_vnd=27_000, paid_at=paid_at, actor="t"
    )
    assert (case.status, case.outcome) == (Status.CLOSED, Outcome.PAID)


def test_personal_data_is_unreadable_at_rest_and_the_key_rotates(pg_session, tmp_path):
    case = resolving(pg_session, notified_case(pg_session, tmp_path), driver=True)
    pg_session.flush()
    raw_owner = pg_session.execute(text("SELECT name_enc, address_enc, id_number_enc FROM owners")).all()
    raw_driver = pg_session.execute(text("SELECT driver_name_enc, driver_id_number_enc FROM statements")).all()
    dump = " ".join(v for row in raw_owner + raw_driver for v in row)
    for readable in ("Nguyễn", "Văn An", "Lê Lợi", "079123456789", "Cường", "079200000001"):
        assert readable not in dump
    new_key = Fernet.generate_key().decode()
    result = reencrypt(pg_session, PiiCipher(f"{new_key},{PII_KEY}"))
    assert result.values == 2 * 4 + 3  # two owners (no e-mail given) and one named driver
    owner = pg_session.scalar(select(Owner).where(Owner.id == case.vehicle.owner_id))
    assert owner_details(owner, pii_key=new_key).name == "Nguyễn Văn An"  # the new key alone reads it
    statement = pg_session.scalar(select(Statement))
    assert PiiCipher(new_key).decrypt(statement.driver_name_enc) == "Lê Văn Cường"
    with pytest.raises(PiiKeyError):
        owner_details(owner, pii_key=PII_KEY)  # the old key no longer does
