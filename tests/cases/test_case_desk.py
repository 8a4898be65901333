"""The desk pages through the real app (SQLite, TestClient): who may open them, what is due, the
resolution steps as forms, citizen submissions with uploaded images."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from builders import PII_KEY, registry_csv, violation_event
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases import review
from cases.accounts import create_user
from cases.cameras import ensure_unit
from cases.db import make_engine, session_factory, upgrade
from cases.deadlines import run_deadlines
from cases.intake import ingest_violation
from cases.models import Case, CitizenSubmission, Decision, Unit, User
from cases.registry import import_registry_csv
from cases.states import Status, transition
from detection.evidence_store import FileEvidenceStore
from phatnguoi.web import create_app

SECRET = "desk-test-secret-key-0123456789"
PASSWORD = "desk password long enough"
ROLES = ["officer", "supervisor", "operator", "admin"]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as session:
        ensure_unit(session, code="pc08", name="Phòng CSGT", address="459 Trần Hưng Đạo")
        import_registry_csv(session, registry_csv(tmp_path / "registry.csv"), pii_key=PII_KEY)
        session.commit()
    yield factory
    engine.dispose()


@pytest.fixture
def client(db, tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(
        session_factory=db, evidence_store=FileEvidenceStore(tmp_path / "ev"), secret_key=SECRET, pii_key=PII_KEY
    )
    with TestClient(app) as test_client:
        yield test_client


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client: TestClient, db: sessionmaker[Session], role: str) -> str:
    """Create the user of ``role`` in unit pc08 (once) and sign in; returns the CSRF token."""
    with db() as session:
        if session.scalar(select(User).where(User.username == role)) is None:
            create_user(session, username=role, role=role, unit_code="pc08", password=PASSWORD)
            session.commit()
    token = csrf(client.get("/police/login").text)
    answer = client.post(
        "/police/login", data={"username": role, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    return csrf(client.get("/desk/due").text) if role != "operator" else ""


def notified(db, track: str = "d-1") -> int:  # type: ignore[no-untyped-def]
    with db() as session:
        case = ingest_violation(session, violation_event(track=track))
        case.resolving_unit_id = session.scalar(select(Unit.id).where(Unit.code == "pc08"))
        review.approve(session=session, case_id=case.id, actor="officer")
        transition(session, case, to=Status.NOTICE_PRINTED, actor="notices")
        transition(session, case, to=Status.NOTIFIED, actor="notices")
        session.commit()
        return case.id


@pytest.mark.parametrize("role", ROLES)
def test_desk_pages_by_role(client, db, role):
    login(client, db, role)
    for path in ("/desk/due", "/desk/submissions"):
        code = client.get(path, follow_redirects=False).status_code
        assert code == (403 if role == "operator" else 200), (role, path, code)


def test_signed_out_is_sent_to_sign_in(client, db):
    answer = client.get("/desk/due", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/police/login")


def test_due_lists_raised_flags_and_cases_waiting_for_an_officer(client, db):
    case_id = notified(db)
    with db() as session:
        waiting = ingest_violation(session, violation_event(track="unknown", plate="51B99999"))
        waiting.detecting_unit_id = session.scalar(select(Unit.id).where(Unit.code == "pc08"))
        session.get(Case, case_id).notified_at = datetime.now(UTC) - timedelta(days=21)
        run_deadlines(session)
        session.commit()
        numbers = (session.get(Case, case_id).case_number, waiting.case_number)
    login(client, db, "officer")
    html = client.get("/desk/due").text
    flags = html.split('id="flags"')[1].split("</table>")[0]
    assert numbers[0] in flags and "Cảnh báo đăng kiểm" in flags
    assert numbers[1] in html.split('id="waiting"')[1] and "không có trong cơ sở dữ liệu" in html


def test_resolution_through_the_forms(client, db):
    case_id = notified(db)
    token = login(client, db, "officer")
    at = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    steps = [
        ("appointment", {"scheduled_at": at}),
        ("appear", {}),
        ("statement", {"kind": "driver_identified", "driver_name": "Lê Văn Cường", "driver_id_number": "0792"}),
        ("decision", {"fine_vnd": "19000000"}),
    ]
    for step, form in steps:
        answer = client.post(f"/desk/cases/{case_id}/{step}", data=form | {"csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 303 and "error" not in answer.headers["location"], (step, answer.headers)
    with db() as session:
        decision = session.scalar(select(Decision).where(Decision.case_id == case_id))
        assert (decision.fine_vnd, decision.person_fined) == (19_000_000, "driver")
        assert session.get(Case, case_id).status == Status.DECIDED
    page = client.get(f"/desk/cases/{case_id}").text
    assert decision.decision_number in page and "Lê Văn Cường" not in page  # the name stays encrypted
    ask = client.post(f"/desk/cases/{case_id}/payment-request", data={"csrf_token": token})
    assert ask.status_code == 200 and ask.json()["amount_vnd"] == 19_000_000


def test_errors_show_on_the_case_and_change_nothing(client, db):
    case_id = notified(db)
    token = login(client, db, "officer")
    answer = client.post(
        f"/desk/cases/{case_id}/decision", data={"fine_vnd": "1", "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303 and "error=" in answer.headers["location"]
    assert "a decision needs the owner" in client.get(answer.headers["location"]).text
    missing_csrf = client.post(f"/desk/cases/{case_id}/appear", data={}, follow_redirects=False)
    assert missing_csrf.status_code == 403
    with db() as session:
        assert session.get(Case, case_id).status == Status.NOTIFIED


def test_only_a_supervisor_dismisses(client, db):
    case_id = notified(db)
    token = login(client, db, "officer")
    assert client.post(f"/desk/cases/{case_id}/dismiss", data={"reason": "x", "csrf_token": token}).status_code == 403
    client.post("/police/logout", data={"csrf_token": token})
    token = login(client, db, "supervisor")
    answer = client.post(
        f"/desk/cases/{case_id}/dismiss", data={"reason": "vehicle stolen", "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    with db() as session:
        assert (session.get(Case, case_id).status, session.get(Case, case_id).outcome) == ("closed", "dismissed")


def _jpeg() -> bytes:
    return cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))[1].tobytes()


def test_submission_upload_then_verification(client, db):
    token = login(client, db, "officer")
    form = {
        "channel": "in_person",
        "submitter_name": "Phạm Thị Dung",
        "plate_text": "51A-123.45",
        "vehicle_class": "car",
        "rule": "red_light",
        "place": "Ngã tư Lê Duẩn",
        "occurred_at": (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "csrf_token": token,
    }
    bad = client.post(
        "/desk/submissions", data=form, files={"image_at": ("a.txt", b"hello", "text/plain")}, follow_redirects=False
    )
    assert "expected%20a%20JPEG" in bad.headers["location"]
    good = client.post(
        "/desk/submissions", data=form, files={"image_at": ("a.jpg", _jpeg(), "image/jpeg")}, follow_redirects=False
    )
    assert good.headers["location"] == "/desk/submissions"
    with db() as session:
        sub = session.scalar(select(CitizenSubmission))
        assert sub.status == "pending" and "Dung" not in sub.submitter_name_enc
    verified = client.post(f"/desk/submissions/{sub.id}/verify", data={"csrf_token": token}, follow_redirects=False)
    assert verified.status_code == 303 and verified.headers["location"].startswith("/police/cases/")
    with db() as session:
        case = session.scalar(select(Case).where(Case.source == "citizen"))
        assert case.status == Status.EXTRACTED and case.plate_key == "51A12345"


def test_an_officer_of_another_unit_may_not_work_the_case(client, db):
    case_id = notified(db)
    with db() as session:
        ensure_unit(session, code="xa", name="Công an xã")
        create_user(session, username="other", role="officer", unit_code="xa", password=PASSWORD)
        session.commit()
    token = csrf(client.get("/police/login").text)
    client.post("/police/login", data={"username": "other", "password": PASSWORD, "csrf_token": token})
    token = csrf(client.get("/desk/due").text)
    assert client.get(f"/desk/cases/{case_id}").status_code == 403
    assert client.post(f"/desk/cases/{case_id}/appear", data={"csrf_token": token}).status_code == 403
    assert client.get("/desk/cases/999999").status_code == 404
    with db() as session:
        assert session.get(Case, case_id).status == Status.NOTIFIED
