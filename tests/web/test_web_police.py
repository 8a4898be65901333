"""Sign-in, lock-out, CSRF and the review flow through the real app (TestClient, SQLite file,
file evidence store)."""

from __future__ import annotations

import re

from web_helpers import csrf_of, login, seed_case

from cases.models import Case, OutboxMessage
from cases.states import Status


def test_login_works_and_wrong_password_fails(client, officer, officer_password):
    bad = login(client, officer, "wrong password!!")
    assert bad.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in bad.text
    good = login(client, officer, officer_password)
    assert good.status_code == 303 and good.headers["location"] == "/police/"
    assert client.get("/police/").status_code == 200


def test_lockout_after_repeated_failures_even_with_right_password(client, officer, officer_password):
    codes = [login(client, officer, f"wrong password {i}").status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 423]
    locked = login(client, officer, officer_password)
    assert locked.status_code == 423
    assert "tạm khóa" in locked.text


def test_login_without_csrf_is_refused(client, officer, officer_password):
    client.get("/police/login")
    response = client.post("/police/login", data={"username": officer, "password": officer_password})
    assert response.status_code == 403


def test_review_queue_requires_login(client):
    response = client.get("/police/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/police/login")
    assert client.get("/api/cases/queue").status_code == 401


def test_approve_via_form_with_csrf(client, officer, officer_password, web_db, store, tmp_path):
    case_id = seed_case(web_db, store, tmp_path)
    login(client, officer, officer_password)
    queue = client.get("/police/")
    assert "51A12345" in queue.text
    thumb = re.search(r'src="(/police/evidence/[0-9a-f]{64})"', queue.text)
    assert thumb and client.get(thumb.group(1)).headers["content-type"] == "image/jpeg"
    page = client.get(f"/police/cases/{case_id}")
    assert page.status_code == 200 and "Duyệt, lập hồ sơ" in page.text

    forged = client.post(
        f"/police/cases/{case_id}/approve", data={"csrf_token": "forged", "plate": "51A12345"}
    )
    assert forged.status_code == 403
    with web_db() as session:
        assert session.get(Case, case_id).status == Status.EXTRACTED

    ok = client.post(
        f"/police/cases/{case_id}/approve",
        data={"csrf_token": csrf_of(page.text), "plate": "51A12345"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with web_db() as session:
        case = session.get(Case, case_id)
        assert case.status == Status.FILED and case.reviewed_by == officer
        assert case.fine_min_vnd == 18_000_000
        assert session.query(OutboxMessage).filter_by(kind="render_notice").count() == 1


def test_reject_with_reason_via_form(client, officer, officer_password, web_db, store, tmp_path):
    case_id = seed_case(web_db, store, tmp_path)
    login(client, officer, officer_password)
    token = csrf_of(client.get(f"/police/cases/{case_id}").text)
    bad = client.post(
        f"/police/cases/{case_id}/reject",
        data={"csrf_token": token, "reason": "i_dont_like_it"},
        follow_redirects=False,
    )
    assert bad.status_code == 303 and "error=" in bad.headers["location"]
    ok = client.post(
        f"/police/cases/{case_id}/reject",
        data={"csrf_token": token, "reason": "false_detection"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with web_db() as session:
        case = session.get(Case, case_id)
        assert case.status == Status.REJECTED and case.reject_reason == "false_detection"


def test_operator_page_forbidden_to_officer(client, officer, officer_password):
    login(client, officer, officer_password)
    assert client.get("/operator/").status_code == 403
