"""Supervisor reassignment of a case, and the admin's camera and tariff pages: who may, what is
written to the audit log, and that a disabled camera's new cases are held at intake."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import violation_event
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import csrf_of, login, seed_case

from cases.accounts import create_user
from cases.intake import ingest_violation
from cases.models import AuditLog, CameraStatus, Case, Unit
from cases.tariff import load_tariffs
from ingest.camera import load_cameras
from phatnguoi.web import create_app

CAMERAS = Path(__file__).resolve().parents[2] / "ingest" / "cameras"


def _account(web_db, username: str, role: str, unit_id: int | None = None) -> int:  # type: ignore[no-untyped-def]
    with web_db() as session:
        user, _ = create_user(session, username=username, role=role, password=f"{username}-password-long")
        user.unit_id = unit_id
        session.commit()
        return user.id


def _sign_in(client, username: str) -> str:  # type: ignore[no-untyped-def]
    assert login(client, username, f"{username}-password-long").status_code == 303
    return csrf_of(client.get("/police/login").text)  # the session's token, as on every form


@pytest.fixture
def two_units(web_db, store, tmp_path):  # type: ignore[no-untyped-def]
    case_id = seed_case(web_db, store, tmp_path)
    with web_db() as session:
        q1, q3 = Unit(code="CAQ1", name="Công an Quận 1"), Unit(code="CAQ3", name="Công an Quận 3")
        session.add_all([q1, q3])
        session.flush()
        session.get(Case, case_id).detecting_unit_id = q1.id
        session.commit()
        return case_id, q1.id, q3.id


def _assign(client, case_id: int, token: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(f"/police/cases/{case_id}/assign", data={"csrf_token": token, **data}, follow_redirects=False)


def test_supervisor_reassigns_a_case_to_another_units_officer_audited(client, web_db, two_units):
    case_id, q1, q3 = two_units
    other = _account(web_db, "officer-q3", "officer", q3)
    _account(web_db, "chief", "supervisor", q1)
    token = _sign_in(client, "chief")
    page = client.get(f"/police/cases/{case_id}").text
    assert 'id="assign-form"' in page and "officer-q3" in page

    refused = _assign(client, case_id, token, officer=str(other), unit=str(q3))  # no reason: refused, nothing changed
    assert refused.status_code == 303 and "error=" in refused.headers["location"]
    with web_db() as session:
        assert session.get(Case, case_id).assigned_to_id is None

    done = _assign(client, case_id, token, officer=str(other), unit=str(q3), reason="Q3 handles this junction")
    assert done.status_code == 303 and "error=" not in done.headers["location"]
    with web_db() as session:
        case = session.get(Case, case_id)
        assert (case.assigned_to_id, case.resolving_unit_id) == (other, q3)
        audit = session.scalars(select(AuditLog).where(AuditLog.case_id == case_id, AuditLog.actor == "chief")).all()
    assert len(audit) == 1
    assert "officer — -> officer-q3" in audit[0].reason and "resolving unit" in audit[0].reason
    assert audit[0].reason.endswith("reason: Q3 handles this junction")
    assert "officer-q3" in client.get(f"/police/cases/{case_id}").text  # shown on the case page and its audit

    bad = _assign(client, case_id, token, officer="999999", reason="typo")
    assert "error=" in bad.headers["location"]


def test_the_assigned_officer_of_another_unit_may_decide_the_case(client, web_db, two_units):
    case_id, q1, q3 = two_units
    other = _account(web_db, "officer-q3", "officer", q3)
    token = _sign_in(client, "officer-q3")
    reject = {"csrf_token": token, "reason": "plate_unreadable"}
    assert client.post(f"/police/cases/{case_id}/reject", data=reject, follow_redirects=False).status_code == 403
    with web_db() as session:
        session.get(Case, case_id).assigned_to_id = other
        session.commit()
    assert client.post(f"/police/cases/{case_id}/reject", data=reject, follow_redirects=False).status_code == 303
    with web_db() as session:
        assert session.get(Case, case_id).status == "rejected"


@pytest.mark.parametrize("role", ["officer", "operator"])
def test_officers_and_operators_cannot_reassign(client, web_db, two_units, role):
    case_id, q1, q3 = two_units
    target = _account(web_db, "officer-q3", "officer", q3)
    _account(web_db, f"x-{role}", role, q1)
    assert login(client, f"x-{role}", f"x-{role}-password-long").status_code == 303
    token = csrf_of(client.get("/police/login").text)
    response = _assign(client, case_id, token, officer=str(target), reason="mine now")
    assert response.status_code == 403
    with web_db() as session:
        assert session.get(Case, case_id).assigned_to_id is None
        assert not session.scalars(select(AuditLog).where(AuditLog.reason.like("reassigned%"))).all()
    if role == "officer":
        assert 'id="assign-form"' not in client.get(f"/police/cases/{case_id}").text


@pytest.fixture
def admin_client(web_db, store):  # type: ignore[no-untyped-def]
    app = create_app(session_factory=web_db, evidence_store=store, secret_key="admin-test-secret-0123456789",
                     cameras=load_cameras(CAMERAS))
    with TestClient(app) as test_client:
        _account(web_db, "admin1", "admin")
        assert login(test_client, "admin1", "admin1-password-long").status_code == 303
        yield test_client


def test_admin_lists_cameras_with_gps_rules_and_health(admin_client, web_db):
    configs = load_cameras(CAMERAS)
    with web_db() as session:
        session.add(CameraStatus(camera_id="sim-intersection-01", verdict="covered", detail="lens sprayed"))
        session.commit()
    html = admin_client.get("/admin/cameras").text
    for camera_id, config in configs.items():
        assert f'id="cam-{camera_id}"' in html and config.name in html
        assert f"{config.gps.lat:.5f}" in html
    assert "Vượt đèn đỏ" in html and "Quá tốc độ" in html  # rules from the configurations
    assert "Bị che khuất" in html  # health from the status row


def test_disabled_camera_holds_new_cases_until_enabled_audited(admin_client, web_db):
    camera = "sim-intersection-02"
    token = csrf_of(admin_client.get("/admin/cameras").text)
    no_reason = admin_client.post(f"/admin/cameras/{camera}/disable", data={"csrf_token": token},
                                  follow_redirects=False)
    assert "error=" in no_reason.headers["location"]
    response = admin_client.post(f"/admin/cameras/{camera}/disable",
                                 data={"csrf_token": token, "reason": "pole being repaired"}, follow_redirects=False)
    assert response.status_code == 303
    assert "Quản trị đã tắt" in admin_client.get("/admin/cameras").text
    wall = admin_client.get("/operator/").text  # the operator's wall shows it red, with the reason
    assert "Quản trị đã tắt" in wall and "pole being repaired" in wall
    with web_db() as session:
        held = ingest_violation(session, violation_event(camera_id=camera, track="1-1"))
        session.commit()
        assert held.held_for_review and "disabled" in (held.hold_reason or "")

    assert admin_client.post(f"/admin/cameras/{camera}/enable", data={"csrf_token": token},
                             follow_redirects=False).status_code == 303
    with web_db() as session:
        fresh = ingest_violation(session, violation_event(camera_id=camera, track="2-2", plate="30A99999"))  # no merge
        session.commit()
        assert not fresh.held_for_review
        reasons = [a.reason for a in session.scalars(select(AuditLog).where(AuditLog.actor == "admin1"))]
    assert f"disabled camera {camera}: pole being repaired" in reasons and f"enabled camera {camera}" in reasons
    missing = admin_client.post("/admin/cameras/no-such-cam/disable", data={"csrf_token": token, "reason": "x"})
    assert missing.status_code == 404


def test_disable_keeps_the_detection_workers_status(admin_client, web_db):
    """A camera the worker already watches keeps its row (verdict, preview) through disable/enable."""
    camera = "sim-speed-01"
    with web_db() as session:
        session.add(CameraStatus(camera_id=camera, verdict="healthy", detail="ok", preview_jpeg=b"\xff\xd8"))
        session.commit()
    token = csrf_of(admin_client.get("/admin/cameras").text)
    admin_client.post(f"/admin/cameras/{camera}/disable", data={"csrf_token": token, "reason": "audit"})
    admin_client.post(f"/admin/cameras/{camera}/enable", data={"csrf_token": token})
    with web_db() as session:
        row = session.get(CameraStatus, camera)
        assert row is not None and not row.disabled and row.preview_jpeg == b"\xff\xd8"


def test_tariff_page_shows_every_version_and_row_read_only(admin_client):
    html = admin_client.get("/admin/tariff").text
    assert "tariff.yaml" in html and "rà soát như mã nguồn" in html
    assert "<form" not in html.split("<main>")[1]  # read-only: no form in the page body
    for tariff in load_tariffs():
        assert tariff.version in html and tariff.decree in html
    assert "18.000.000 – 20.000.000" in html  # red light, car
    assert "điểm b khoản 9 Điều 6" in html
    assert "vượt &gt; 35 km/h" in html or "vượt > 35 km/h" in html
