"""The app factory wires the start-up settings itself: the demo's worker and the tests build the app
the same way."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from cases.payments import derive_secret
from detection.evidence_store import FileEvidenceStore
from phatnguoi.web import create_app

SECRET = "factory-test-secret-0123456789"


def test_create_app_wires_payment_and_lookup_settings(web_db: sessionmaker[Session], store: FileEvidenceStore) -> None:
    app = create_app(session_factory=web_db, evidence_store=store, secret_key=SECRET, payment_days=21,
                     payment_callback_secret="provider-secret", lookup_pow_bits=12, lookups_per_minute=5.0)
    assert app.state.payment_days == 21
    assert app.state.payment_callback_secret == "provider-secret"
    assert app.state.public_guard.pow.bits == 12


def test_create_app_derives_the_callback_secret(web_db: sessionmaker[Session], store: FileEvidenceStore) -> None:
    app = create_app(session_factory=web_db, evidence_store=store, secret_key=SECRET)
    assert app.state.payment_days == 10
    assert app.state.payment_callback_secret == derive_secret(SECRET)
    assert app.state.public_guard.pow.bits == 16
