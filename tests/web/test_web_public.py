"""The public lookup (page and JSON) finds an approved case by plate and shows no personal data;
evidence of unpublished cases stays private; the notice verification page tells genuine from forged."""

from __future__ import annotations

from sqlalchemy import select
from web_helpers import seed_case

from cases import review
from cases.models import Case, Evidence, Notice
from notices.tokens import make_token

OWNER_NAME = "Nguyễn Văn An"  # from builders.registry_csv
OWNER_ID = "079123456789"


def approve(web_db, case_id: int) -> None:  # type: ignore[no-untyped-def]
    with web_db() as session:
        review.approve(session=session, case_id=case_id, actor="officer1")
        session.commit()


def test_public_lookup_finds_approved_case_without_personal_data(client, web_db, store, tmp_path):
    case_id = seed_case(web_db, store, tmp_path)
    before = client.get("/api/public/lookup", params={"plate": "51A-123.45", "vehicle_type": "car"}).json()
    assert before["cases"] == []  # still in review: not published
    approve(web_db, case_id)

    data = client.get("/api/public/lookup", params={"plate": "51A-123.45", "vehicle_type": "car"}).json()
    assert len(data["cases"]) == 1
    found = data["cases"][0]
    assert found["status"] == "Chưa xử phạt"
    assert found["time"] == "08:05, 14/03/2026"
    assert found["plate"] == "51A-123.45"
    assert "đèn tín hiệu" in found["behaviour"]
    assert OWNER_NAME not in str(data) and OWNER_ID not in str(data)

    page = client.get("/lookup", params={"plate": "51a12345", "vehicle_type": "car"})
    assert page.status_code == 200
    assert "Chưa xử phạt" in page.text and "08:05, 14/03/2026" in page.text
    assert OWNER_NAME not in page.text and "Lê Lợi" not in page.text
    sha = found["evidence_sha256"][0]
    assert client.get(f"/public/evidence/{sha}").headers["content-type"] == "image/jpeg"

    other_type = client.get(
        "/api/public/lookup", params={"plate": "51A12345", "vehicle_type": "motorbike"}
    ).json()
    assert other_type["cases"] == []


def test_public_lookup_rejects_bad_input(client):
    response = client.get("/api/public/lookup", params={"plate": "HELLO", "vehicle_type": "car"})
    assert response.status_code == 422 and "Biển số không hợp lệ" in response.json()["detail"]
    response = client.get("/api/public/lookup", params={"plate": "51A12345", "vehicle_type": "tank"})
    assert response.status_code == 422


def test_evidence_of_unpublished_case_is_not_public(client, web_db, store, tmp_path):
    seed_case(web_db, store, tmp_path)
    with web_db() as session:
        sha = session.scalars(select(Evidence.sha256)).first()
    assert client.get(f"/public/evidence/{sha}").status_code == 404


def test_verify_page_genuine_and_forged(client, web_db, store, tmp_path, secret_key):
    case_id = seed_case(web_db, store, tmp_path)
    approve(web_db, case_id)
    with web_db() as session:
        case = session.get(Case, case_id)
        token = make_token(secret_key, case_number=case.case_number, notice_type="first")
        session.add(Notice(case_id=case_id, type="first", pdf_sha256="0" * 64, pdf_key="0" * 64, token=token))
        session.commit()
        number = case.case_number
    genuine = client.get(f"/verify/{token}")
    assert genuine.status_code == 200 and "Thông báo hợp lệ" in genuine.text and number in genuine.text
    forged = client.get(f"/verify/{token[:-3]}abc")
    assert forged.status_code == 400 and "Không xác thực được" in forged.text
    unknown = make_token("another-secret-key-0123456789", case_number=number, notice_type="first")
    assert client.get(f"/verify/{unknown}").status_code == 400


def test_health_json_and_root_redirect(client):
    assert client.get("/api/health").json()["database"] is True
    assert client.get("/", follow_redirects=False).headers["location"] == "/lookup"
