"""In a real browser (Playwright driving Debian's Chromium, headless) against the app served by
uvicorn: the lookup page solves its proof of work in JavaScript and shows the case; the
verification page behind the QR code tells a genuine notice from a forged one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_public import OWNER_FIELDS, seed

from cases.models import Case, Notice
from notices.tokens import make_token
from phatnguoi.web import create_app
from phatnguoi.web.routers.public import configure_public
from phatnguoi.web.serving import ThreadedServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture
def served(web_db, store, secret_key) -> Iterator[str]:  # type: ignore[no-untyped-def]
    app = create_app(session_factory=web_db, evidence_store=store, secret_key=secret_key)
    configure_public(app, pow_bits=14)  # the real page's work, a little lighter to keep the test fast
    with ThreadedServer(app) as server:
        yield server.url


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_lookup_in_the_browser_solves_the_proof_of_work(served, browser_page, web_db, store, tmp_path):
    shas = seed(web_db, store, tmp_path)
    page = browser_page
    page.goto(f"{served}/lookup")
    page.fill("input[name=plate]", "51A-123.45")
    page.select_option("select[name=vehicle_type]", "car")
    page.click("#lookup-submit")
    page.wait_for_selector("#lookup-results", timeout=20_000)
    assert "pow=" in page.url and "challenge=v1." in page.url  # the page solved and sent the work
    results = page.inner_text("#lookup-results")
    assert "Chưa xử phạt" in results and "08:05, 14/03/2026" in results and "51A-123.45" in results
    images = page.eval_on_selector_all(".gallery img", "imgs => imgs.map(i => [i.src, i.naturalWidth])")
    assert [src.rsplit("/", 1)[1] for src, _ in images] == [shas["at_public"]]
    assert all(width == 128 for _, width in images)  # the blurred copy loaded
    html = page.content()
    assert [f for f in OWNER_FIELDS if f in html] == []
    # the page's SHA-256 agrees with hashlib on short, block-edge, multi-block and non-ASCII input
    for text in ("abc", "x" * 55, "y" * 56, "z" * 64, "v1.nonce.16.1:59-X1 234.56:motorbike:" * 5, "Biển số đỏ"):
        expected = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
        assert page.evaluate("t => window.phatnguoiSha256First(t)", text) == expected, text


def test_lookup_without_javascript_work_is_refused(served, browser_page):
    page = browser_page
    page.goto(f"{served}/lookup?plate=51A12345&vehicle_type=car&challenge=v1.x.14.0.forged&pow=1")
    assert "Không xác minh được" in page.inner_text("#lookup-error")


def test_verification_page_genuine_and_forged(served, browser_page, web_db, store, tmp_path, secret_key):
    case_id = int(seed(web_db, store, tmp_path)["case_id"])
    with web_db() as session:
        case = session.get(Case, case_id)
        token = make_token(secret_key, case_number=case.case_number, notice_type="first")
        session.add(Notice(case_id=case_id, type="first", pdf_sha256="0" * 64, pdf_key="0" * 64, token=token))
        session.commit()
        number = case.case_number
    page = browser_page
    page.goto(f"{served}/verify/{token}")
    text = page.inner_text("#verify-result")
    assert "Văn bản hợp lệ" in text and number in text and "Chưa xử phạt" in page.inner_text("#verify-status")
    page.click("text=Xem hình ảnh vi phạm")  # on to the lookup, plate and type filled in
    assert page.input_value("input[name=plate]") == case.plate_confirmed
    assert page.input_value("select[name=vehicle_type]") == "car"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    page.goto(f"{served}/verify/{forged}")
    assert "Không xác thực được văn bản" in page.inner_text("#verify-result")
