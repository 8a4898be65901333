"""The public lookup (page and JSON): published cases by plate and vehicle type with no personal
data and only blurred public evidence; proof of work, rate limits, no plate enumeration, a log
without personal data; the notice verification page tells genuine from forged."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from builders import PII_KEY, registry_csv, violation_event
from sqlalchemy import select

from cases import review
from cases.cameras import ensure_unit
from cases.intake import ingest_violation
from cases.models import Camera, Case, Notice
from cases.registry import import_registry_csv
from notices.abuse import leading_zero_bits_ok, pow_digest, solve
from notices.tokens import make_token
from phatnguoi.web.routers.public import configure_public

# every personal field of the owner in builders.registry_csv: none may appear anywhere public
OWNER_FIELDS = ["Nguyễn Văn An", "079123456789", "12 Lê Lợi", "Phường Sài Gòn", "0901234567", "Toyota"]
BITS = 8


def image(value: int) -> bytes:
    img = np.full((72, 128, 3), value, np.uint8)
    return cv2.imencode(".jpg", img)[1].tobytes()


@pytest.fixture
def guarded(client):  # type: ignore[no-untyped-def]
    configure_public(client.app, pow_bits=BITS, lookups_per_minute=600, lookup_burst=100)
    return client


def seed(web_db, store, tmp_path, *, public: bool = True, approve: bool = True, track: str = "t1") -> dict[str, str]:  # type: ignore[no-untyped-def]
    shas = {
        role: store.put(image(40 + i * 30), content_type="image/jpeg")
        for i, role in enumerate(("before", "at", "after"))
    }
    if public:
        shas["at_public"] = store.put(image(222), content_type="image/jpeg")
    with web_db() as session:
        if session.get(Camera, "cam-01") is None:
            unit = ensure_unit(
                session,
                code="pc08",
                name="Phòng CSGT TP. Hồ Chí Minh",
                address="459 Trần Hưng Đạo",
                phone="069 3187 346",
            )
            session.add(Camera(id="cam-01", name="Ngã tư", address="Ngã tư Hai Bà Trưng", unit_id=unit.id))
            session.flush()
        if approve:
            import_registry_csv(session, registry_csv(tmp_path / "registry.csv"), pii_key=PII_KEY)
        case = ingest_violation(session, violation_event(track=track, evidence=shas))
        session.flush()
        if approve:
            review.approve(session=session, case_id=case.id, actor="officer1")
        session.commit()
        shas["case_id"] = str(case.id)
    return shas


def lookup(client, plate: str, vehicle_type: str = "car", *, bits: int = BITS, **override: str):  # type: ignore[no-untyped-def]
    challenge = client.get("/api/public/challenge").json()["challenge"]
    params = {"plate": plate, "vehicle_type": vehicle_type, "challenge": challenge}
    params["pow"] = str(solve(challenge, plate, vehicle_type, bits))
    params.update(override)
    return client.get("/api/public/lookup", params=params)


def lookup_page(client, plate: str, vehicle_type: str = "car"):  # type: ignore[no-untyped-def]
    challenge = client.get("/api/public/challenge").json()["challenge"]
    pow_ = str(solve(challenge, plate, vehicle_type, BITS))
    return client.get(
        "/lookup", params={"plate": plate, "vehicle_type": vehicle_type, "challenge": challenge, "pow": pow_}
    )


def test_lookup_shows_the_published_case_and_only_blurred_evidence(guarded, web_db, store, tmp_path, caplog):
    shas = seed(web_db, store, tmp_path)
    caplog.set_level(logging.INFO, logger="phatnguoi.public.lookup")
    response = lookup(guarded, "51A-123.45")
    assert response.status_code == 200
    data = response.json()
    assert len(data["cases"]) == 1
    found = data["cases"][0]
    assert found["status"] == "Chưa xử phạt" and found["time"] == "08:05, 14/03/2026"
    assert found["plate"] == "51A-123.45" and found["plate_colour"] == "Nền trắng, chữ đen"
    assert "đèn tín hiệu" in found["behaviour"]
    assert found["resolving_unit"] and found["resolving_address"] and found["resolving_phone"]
    assert found["evidence_sha256"] == [shas["at_public"]] and found["photo_pending"] is False
    for original in ("before", "at", "after"):
        assert shas[original] not in response.text
        assert guarded.get(f"/public/evidence/{shas[original]}").status_code == 404
    blurred = guarded.get(f"/public/evidence/{shas['at_public']}")
    assert blurred.status_code == 200 and blurred.content == image(222)

    page = lookup_page(guarded, "51a12345")
    assert page.status_code == 200
    assert "Chưa xử phạt" in page.text and "08:05, 14/03/2026" in page.text and shas["at_public"] in page.text
    assert shas["at"] not in page.text
    for text in (response.text, page.text, caplog.text):
        leaked = [f for f in OWNER_FIELDS if f in text]
        assert leaked == []
    assert "51A" not in caplog.text and "testclient" not in caplog.text  # no plate, no client address
    assert "outcome=ok found=1" in caplog.text


def test_a_case_without_a_blurred_copy_shows_no_image(guarded, web_db, store, tmp_path):
    shas = seed(web_db, store, tmp_path, public=False)
    found = lookup(guarded, "51A12345").json()["cases"][0]
    assert found["evidence_sha256"] == [] and found["photo_pending"] is True
    page = lookup_page(guarded, "51A12345")
    assert "Hình ảnh vi phạm đang được chuẩn bị" in page.text and shas["at"] not in page.text


def test_unpublished_and_unknown_plates_answer_alike(guarded, web_db, store, tmp_path):
    shas = seed(web_db, store, tmp_path, approve=False)  # still in review: not published
    in_review = lookup(guarded, "51A12345")
    unknown = lookup(guarded, "59X999999", "motorbike")
    assert in_review.status_code == unknown.status_code == 200
    assert in_review.json()["cases"] == unknown.json()["cases"] == []
    assert set(in_review.json()) == set(unknown.json()) == {"plate", "vehicle_type", "cases"}
    assert guarded.get(f"/public/evidence/{shas['at']}").status_code == 404


def test_wrong_vehicle_type_finds_nothing(guarded, web_db, store, tmp_path):
    seed(web_db, store, tmp_path)
    assert lookup(guarded, "51A12345", "motorbike").json()["cases"] == []


def test_bad_input_is_refused_with_a_clear_error(guarded):
    assert "Biển số không hợp lệ" in lookup(guarded, "HELLO").json()["detail"]
    assert lookup(guarded, "51A12345", "tank").status_code == 422
    assert guarded.get("/api/public/lookup", params={"plate": "51A12345"}).status_code == 422  # type required


def test_proof_of_work_is_required_bound_and_single_use(guarded):
    assert guarded.get("/api/public/lookup", params={"plate": "51A12345", "vehicle_type": "car"}).status_code == 400
    challenge = guarded.get("/api/public/challenge").json()["challenge"]
    other_plate = str(solve(challenge, "51A99999", "car", BITS))
    response = lookup(guarded, "51A12345", challenge=challenge, pow=other_plate)
    if response.status_code == 200:  # 1 in 2**BITS: the counter happens to solve this plate too
        pytest.skip("the other plate's counter also solves this one")
    assert response.status_code == 400 and "does not solve" in response.json()["detail"]
    forged = challenge[:-4] + "abcd"
    assert "not issued by this server" in lookup(guarded, "51A12345", challenge=forged).json()["detail"]
    good = str(solve(challenge, "51A12345", "car", BITS))
    assert lookup(guarded, "51A12345", challenge=challenge, pow=good).status_code == 200
    replay = lookup(guarded, "51A12345", challenge=challenge, pow=good)
    assert replay.status_code == 400 and "already used" in replay.json()["detail"]


def test_default_difficulty_is_enforced(client):
    challenge = client.get("/api/public/challenge").json()
    assert challenge["bits"] == 16
    counter = 0  # a counter that solves 8 bits but not 16: not enough
    while not (
        leading_zero_bits_ok(pow_digest(challenge["challenge"], "51A12345", "car", counter), 8)
        and not leading_zero_bits_ok(pow_digest(challenge["challenge"], "51A12345", "car", counter), 16)
    ):
        counter += 1
    weak = client.get(
        "/api/public/lookup",
        params={"plate": "51A12345", "vehicle_type": "car", "challenge": challenge["challenge"], "pow": str(counter)},
    )
    assert weak.status_code == 400
    assert lookup(client, "51A12345", bits=16).status_code == 200


def test_rate_limit_answers_429_with_retry_after(client):
    configure_public(client.app, pow_bits=0, lookups_per_minute=6, lookup_burst=3)
    codes = [lookup(client, "51A12345", bits=0).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = lookup(client, "51A12345", bits=0)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 10
    page = client.get("/lookup", params={"plate": "51A12345", "vehicle_type": "car", "challenge": "x", "pow": "1"})
    assert page.status_code == 429 and "Retry-After" in page.headers


def test_page_without_a_solution_only_prefills_the_form(guarded):
    page = guarded.get("/lookup", params={"plate": "51A12345", "vehicle_type": "car"})
    assert page.status_code == 200 and 'value="51A12345"' in page.text and "Nhấn" in page.text
    assert 'name="challenge" value="v1.' in page.text


def test_verify_page_genuine_forged_and_altered(guarded, web_db, store, tmp_path, secret_key):
    case_id = int(seed(web_db, store, tmp_path)["case_id"])
    with web_db() as session:
        case = session.get(Case, case_id)
        token = make_token(secret_key, case_number=case.case_number, notice_type="first")
        session.add(Notice(case_id=case_id, type="first", pdf_sha256="0" * 64, pdf_key="0" * 64, token=token))
        session.commit()
        number = case.case_number
    genuine = guarded.get(f"/verify/{token}")
    assert genuine.status_code == 200 and "Văn bản hợp lệ" in genuine.text and number in genuine.text
    assert "Thông báo vi phạm" in genuine.text and "Chưa xử phạt" in genuine.text
    assert [f for f in OWNER_FIELDS if f in genuine.text] == []
    forged = guarded.get(f"/verify/{token[:-3]}abc")
    assert forged.status_code == 400 and "Không xác thực được" in forged.text
    other_key = make_token("another-secret-key-0123456789", case_number=number, notice_type="first")
    assert guarded.get(f"/verify/{other_key}").status_code == 400
    # genuinely signed, but for a notice that was never issued
    never = make_token(secret_key, case_number=number, notice_type="decision")
    assert guarded.get(f"/verify/{never}").status_code == 404
    with web_db() as session:
        assert session.scalar(select(Notice.token).where(Notice.case_id == case_id)) == token


def test_the_lookup_status_agrees_with_the_case_pipeline():
    from types import SimpleNamespace

    from cases.publication import penalty_status
    from cases.states import Outcome, Status
    from notices.lookup import penalty_of

    for status in Status:
        for outcome in [None, *Outcome]:
            case = SimpleNamespace(status=status.value, outcome=outcome.value if outcome else None)
            assert penalty_of(case.status, case.outcome) == penalty_status(case), (status, outcome)  # type: ignore[arg-type]
