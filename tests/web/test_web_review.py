"""The police review screens through the real app: the filtered queue in deadline order, the
evidence viewer, plate corrections confirmed by a second person (and the notice refused until
then), search, statistics and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from builders import PII_KEY, registry_csv, violation_event
from web_helpers import csrf_of, jpeg, login

from cases import review
from cases.accounts import create_user
from cases.intake import ingest_violation
from cases.models import AuditLog, Case, CorrectionPending, Notice, PlateCorrection
from cases.registry import import_registry_csv
from cases.states import Status
from detection.types import Rule

BASE = datetime(2026, 3, 14, 1, 5, tzinfo=UTC)


@pytest.fixture
def seeded(web_db, store, tmp_path):  # type: ignore[no-untyped-def]
    """Four cases on two cameras: red light and speeding, plates read with different confidence."""
    sha = store.put(jpeg(), content_type="image/jpeg")
    ids = {}
    with web_db() as session:
        import_registry_csv(session, registry_csv(tmp_path / "registry.csv"), pii_key=PII_KEY)
        specs = [
            ("late", "cam-01", Rule.RED_LIGHT, "51A12345", "car", BASE + timedelta(hours=5), {}),
            ("early", "cam-01", Rule.RED_LIGHT, "59X123465", "motorbike", BASE, {}),
            ("speed", "cam-02", Rule.SPEEDING, "51A12345", "car", BASE + timedelta(hours=1),
             {"speed_kmh": 71.4, "speed_uncertainty_kmh": 1.6, "speed_limit_kmh": 50.0, "speed_lower_kmh": 69.8,
              "speed_over_kmh": 19.8, "distance_m": 30.0}),
            ("other-day", "cam-02", Rule.RED_LIGHT, "51A12345", "car", BASE + timedelta(days=3), {}),
        ]
        for name, camera, rule, plate, cls, when, measurement in specs:
            event = violation_event(camera_id=camera, track=name, rule=rule, plate=plate, vehicle_class=cls,
                                    occurred_at=when, evidence={"before": sha, "at": sha, "after": sha, "plate": sha},
                                    **measurement)
            case = ingest_violation(session, event)
            assert case is not None
            ids[name] = case.id
        session.get(Case, ids["early"]).plate_confidence = 0.42
        create_user(session, username="officer1", role="officer", password="officer-password-1")
        create_user(session, username="chief", role="supervisor", password="chief-password-12")
        session.commit()
    return ids


def _ids_in(html: str) -> list[int]:
    import re

    return [int(m) for m in re.findall(r'data-href="/police/cases/(\d+)"', html)]


def test_queue_in_deadline_order_and_filtered(client, seeded):
    login(client, "officer1", "officer-password-1")
    page = client.get("/police/")
    assert _ids_in(page.text) == [seeded["early"], seeded["speed"], seeded["late"], seeded["other-day"]]
    assert _ids_in(client.get("/police/?camera=cam-02").text) == [seeded["speed"], seeded["other-day"]]
    assert _ids_in(client.get("/police/?rule=speeding").text) == [seeded["speed"]]
    assert _ids_in(client.get("/police/?confidence=low").text) == [seeded["early"]]
    assert seeded["early"] not in _ids_in(client.get("/police/?confidence=high").text)
    assert "keys.js" in page.text and 'id="queue-total">4<' in page.text


def test_case_page_is_an_evidence_viewer_with_measured_value_and_audit(client, seeded):
    login(client, "officer1", "officer-password-1")
    page = client.get(f"/police/cases/{seeded['speed']}").text
    for text in ("Trước", "Thời điểm vi phạm", "Sau", "Biển số", "71.4 ± 1.6 km/h", "giới hạn 50 km/h",
                 "cận dưới 95%: 69.8 km/h", "Nhật ký hồ sơ", "system:intake", 'id="approve-form"',
                 'id="reason-select"', 'id="plate-input"', 'id="next-case"'):
        assert text in page, text
    red = client.get(f"/police/cases/{seeded['early']}").text
    assert "Đèn đỏ" in red or "Đèn đỏ".lower() in red.lower()


def _post(client, url: str, **data: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/police/login").text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def test_approve_goes_on_to_the_next_case(client, seeded, web_db):
    login(client, "officer1", "officer-password-1")
    response = _post(client, f"/police/cases/{seeded['late']}/approve", plate="51A12345")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/police/cases/{seeded['early']}?done=")
    with web_db() as session:
        late = session.get(Case, seeded["late"])
        assert parse_qs(urlsplit(response.headers["location"]).query)["done"] == [f"Đã duyệt {late.case_number}"]
        assert late.status == Status.FILED
        assert session.query(PlateCorrection).count() == 0  # the plate read was kept: nothing to confirm


def test_reject_needs_a_reason_from_the_list(client, seeded, web_db):
    login(client, "officer1", "officer-password-1")
    bad = _post(client, f"/police/cases/{seeded['late']}/reject", reason="bored")
    assert bad.status_code == 303 and "error=" in bad.headers["location"]
    ok = _post(client, f"/police/cases/{seeded['late']}/reject", reason="false_detection", note="shadow")
    assert ok.status_code == 303
    with web_db() as session:
        case = session.get(Case, seeded["late"])
        assert (case.status, case.reject_reason, case.reject_note) == (Status.REJECTED, "false_detection", "shadow")


def _notice(case_id: int) -> Notice:
    return Notice(case_id=case_id, type="first", pdf_sha256="0" * 64, pdf_key="k", token=f"t-{case_id}")


def test_corrected_plate_needs_a_supervisor_before_a_notice(client, seeded, web_db):
    case_id = seeded["early"]  # read 59X123465; the registry knows 59X123456
    login(client, "officer1", "officer-password-1")
    assert _post(client, f"/police/cases/{case_id}/approve", plate="59-X1 234.56").status_code == 303
    with web_db() as session:
        case = session.get(Case, case_id)
        assert (case.status, case.plate_confirmed) == (Status.FILED, "59X123456")
        correction = session.query(PlateCorrection).one()
        assert (correction.status, correction.from_plate, correction.requested_by) == (
            "pending", "59X123465", "officer1")
        assert review.notice_blocked(session=session, case_id=case_id)
        session.add(_notice(case_id))
        with pytest.raises(CorrectionPending, match="a supervisor must confirm"):
            session.flush()
        session.rollback()
        correction_id = correction.id
    page = client.get(f"/police/cases/{case_id}").text
    assert "chờ chỉ huy xác nhận" in page
    # the officer may not decide it (403), nor may a supervisor decide their own proposal
    assert client.get("/police/corrections").status_code == 403
    assert _post(client, f"/police/corrections/{correction_id}/confirm").status_code == 403

    login(client, "chief", "chief-password-12")
    listing = client.get("/police/corrections").text
    assert "59X123465" in listing and "59X123456" in listing
    assert _post(client, f"/police/corrections/{correction_id}/confirm").status_code == 303
    with web_db() as session:
        confirmed = session.get(PlateCorrection, correction_id)
        assert (confirmed.status, confirmed.decided_by) == ("confirmed", "chief")
        assert review.notice_blocked(session=session, case_id=case_id) is None
        session.add(_notice(case_id))
        session.flush()  # the notice may go out now
        reasons = [a.reason for a in session.query(AuditLog).filter(AuditLog.case_id == case_id)]
        assert "plate correction 59X123465 -> 59X123456 confirmed" in reasons


def test_the_proposer_cannot_confirm_their_own_correction(seeded, web_db):
    with web_db() as session:
        review.approve(session=session, case_id=seeded["early"], actor="chief", plate="59X123456")
        correction = review.latest_correction(session=session, case_id=seeded["early"])
        with pytest.raises(review.ReviewError, match="second person"):
            review.confirm_correction(session=session, correction_id=correction.id, actor="chief", role="supervisor")
        with pytest.raises(review.ReviewError, match="only a supervisor"):
            review.confirm_correction(session=session, correction_id=correction.id, actor="x", role="officer")


def test_refused_correction_keeps_the_notice_back_until_a_new_plate_is_confirmed(seeded, web_db):
    with web_db() as session:
        case_id = seeded["early"]
        review.approve(session=session, case_id=case_id, actor="officer1", plate="51A12345")
        first = review.latest_correction(session=session, case_id=case_id)
        with pytest.raises(review.ReviewError, match="say why"):
            review.refuse_correction(session=session, correction_id=first.id, actor="chief", role="supervisor",
                                     note=" ")
        review.refuse_correction(session=session, correction_id=first.id, actor="chief", role="supervisor",
                                 note="the image shows 59X1")
        assert "refused" in review.notice_blocked(session=session, case_id=case_id)
        second = review.correct_plate(session=session, case_id=case_id, actor="officer1", plate="59X123456")
        assert session.get(Case, case_id).plate_confirmed == "59X123456"
        review.confirm_correction(session=session, correction_id=second.id, actor="chief", role="supervisor")
        assert review.notice_blocked(session=session, case_id=case_id) is None


def test_search_by_plate_number_dates_and_status(client, seeded, web_db):
    login(client, "officer1", "officer-password-1")
    by_plate = client.get("/police/search?plate=51A-123.45").text
    assert by_plate.count("/police/cases/") == 3
    with web_db() as session:
        number = session.get(Case, seeded["speed"]).case_number
    assert client.get(f"/police/search?case_number={number}").text.count("/police/cases/") == 1
    day = (BASE + timedelta(days=3)).astimezone(review.VN_TZ).date().isoformat()
    in_range = client.get(f"/police/search?date_from={day}&date_to={day}").text
    assert f"/police/cases/{seeded['other-day']}" in in_range and in_range.count("/police/cases/") == 1
    assert client.get("/police/search?status=rejected").text.count("/police/cases/") == 0
    bad = client.get("/police/search?date_from=14/03/2026").text
    assert "expected a date YYYY-MM-DD" in bad


def test_statistics_draw_svg_charts(client, seeded, web_db):
    with web_db() as session:
        later = BASE + timedelta(days=1)
        review.approve(session=session, case_id=seeded["late"], actor="officer1", now=later)
        review.reject(session=session, case_id=seeded["speed"], actor="officer1", reason="duplicate", now=later)
        session.commit()
    login(client, "chief", "chief-password-12")
    page = client.get("/police/stats?days=30&until=2026-03-20")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 4
    assert "Vượt đèn đỏ" in html and "Quá tốc độ" in html
    assert "Trùng với vụ việc khác" in html  # the rejection reason, in words
    assert "<td>officer1</td><td>1</td><td>1</td>" in html  # one approved, one rejected


def test_an_officer_decides_only_the_cases_of_their_unit(client, seeded, web_db):
    from cases.cameras import ensure_unit

    with web_db() as session:
        mine = ensure_unit(session, code="PC08-D1", name="Đội 1")
        other = ensure_unit(session, code="PC08-D2", name="Đội 2")
        session.get(Case, seeded["late"]).detecting_unit_id = other.id
        session.get(Case, seeded["early"]).detecting_unit_id = mine.id
        create_user(session, username="d1officer", role="officer", unit_code="PC08-D1", password="d1-officer-pass")
        session.commit()
    login(client, "d1officer", "d1-officer-pass")
    assert _ids_in(client.get("/police/").text) == [seeded["early"]]  # own unit by default
    refused = _post(client, f"/police/cases/{seeded['late']}/approve")
    assert refused.status_code == 403
    assert _post(client, f"/police/cases/{seeded['early']}/reject", reason="duplicate").status_code == 303
    with web_db() as session:
        assert session.get(Case, seeded["late"]).status == Status.EXTRACTED
        assert session.get(Case, seeded["early"]).status == Status.REJECTED
