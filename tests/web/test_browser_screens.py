"""The people's screens in a real browser: Playwright drives Debian's Chromium (headless) against
the app served by uvicorn over a seeded back office (real simulator frames as evidence).

Covers sign-in, reviewing and approving a case from the keyboard, correcting a plate that a
supervisor then confirms, the operator's camera wall and live view, and the forbidden pages of
each role. With ``PHATNGUOI_SCREENSHOTS=docs/img`` each screen is also saved there as
``screen-*.png`` (what docs/screens.md shows).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from pages_seed import SeededServer  # noqa: E402
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from cases.models import Case, PlateCorrection  # noqa: E402
from cases.states import Status  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("PHATNGUOI_SCREENSHOTS")
PASSWORDS = {"canbo": "officer-pass-123", "chihuy": "supervisor-pass-123", "vanhanh": "operator-pass-123",
             "quantri": "admin-pass-12345"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededServer]:
    with SeededServer(tmp_path_factory.mktemp("screens"), passwords=PASSWORDS, static_monitor=bool(SHOTS)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    yield context.new_page()
    context.close()


def shot(page: Page, name: str, *, full: bool = False) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"screen-{name}.png"), full_page=full)


def sign_in(page: Page, server: SeededServer, user: str, landing: str) -> None:
    page.goto(f"{server.url}/police/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("form button.primary")
    page.wait_for_url(f"**{landing}")


def test_sign_in(page: Page, server: SeededServer) -> None:
    page.goto(f"{server.url}/police/")
    page.wait_for_url("**/police/login?next=/police/")
    shot(page, "login")
    page.fill("input[name=username]", "canbo")
    page.fill("input[name=password]", "not the password")
    page.click("form button.primary")
    expect(page.locator("p.alert")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")
    page.fill("input[name=username]", "canbo")
    page.fill("input[name=password]", PASSWORDS["canbo"])
    page.click("form button.primary")
    page.wait_for_url("**/police/")
    expect(page.locator("h1")).to_contain_text("Vi phạm chờ duyệt")
    expect(page.locator(".who")).to_contain_text("canbo")


def test_review_and_approve_from_the_keyboard(page: Page, server: SeededServer) -> None:
    sign_in(page, server, "canbo", "/police/")
    rows = page.locator("#queue tbody tr")
    assert rows.count() >= 3
    expect(rows.first).to_have_class("selected")
    shot(page, "review-queue")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class("selected")
    page.keyboard.press("k")
    first_href = rows.first.get_attribute("data-href")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{first_href}")
    expect(page.locator(".frames img").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "case", full=True)
    case_id = int(first_href.rsplit("/", 1)[1])
    with server.session_factory() as session:
        plate = session.get(Case, case_id).plate_read
    if plate is None or case_id == server.world.correction_case:
        pytest.skip("the first case of the queue needs a plate correction")
    page.keyboard.press("a")
    page.wait_for_url("**done=*")
    expect(page.locator(".toast")).to_contain_text("Đã duyệt")
    with server.session_factory() as session:
        assert session.get(Case, case_id).status == Status.FILED


def test_plate_correction_needs_a_supervisor(browser: Browser, page: Page, server: SeededServer) -> None:
    case_id = server.world.correction_case
    assert case_id is not None
    with server.session_factory() as session:
        case = session.get(Case, case_id)
        right = next(c["text"] for c in case.plate_candidates if c["text"] != case.plate_read)
    sign_in(page, server, "canbo", "/police/")
    page.goto(f"{server.url}/police/cases/{case_id}")
    page.keyboard.press("c")
    expect(page.locator("#plate-input")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(right)
    page.keyboard.press("Enter")  # submits the approve form with the corrected plate
    page.wait_for_url("**done=*")
    page.goto(f"{server.url}/police/cases/{case_id}")
    expect(page.locator("#correction")).to_contain_text("chờ chỉ huy xác nhận")
    with server.session_factory() as session:
        correction = session.query(PlateCorrection).filter_by(case_id=case_id).one()
        assert (correction.status, correction.to_plate) == ("pending", right)

    chief = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(chief, server, "chihuy", "/police/")
    chief.goto(f"{server.url}/police/corrections")
    card = chief.locator(f"#correction-{correction.id}")
    expect(card).to_contain_text(right)
    chief.wait_for_load_state("networkidle")
    shot(chief, "corrections")
    card.locator("button.primary").click()
    chief.wait_for_url("**/police/corrections*")
    with server.session_factory() as session:
        assert session.get(PlateCorrection, correction.id).status == "confirmed"
    chief.goto(f"{server.url}/police/stats")
    expect(chief.locator("svg.chart").first).to_be_visible()
    shot(chief, "stats", full=True)
    chief.goto(f"{server.url}/police/search?plate={right}")
    expect(chief.locator("table.queue tbody tr")).not_to_have_count(0)
    shot(chief, "search")
    chief.context.close()


def test_camera_wall_and_live_view(page: Page, server: SeededServer) -> None:
    sign_in(page, server, "vanhanh", "/operator/")
    tiles = page.locator(".wall .cam")
    expect(tiles).to_have_count(len(server.world.cameras))
    expect(page.locator(".wall .cam-bad")).to_have_count(1)
    expect(page.locator("#alerts")).to_contain_text("bị che khuất")
    page.wait_for_load_state("networkidle")
    shot(page, "operator", full=True)
    camera = page.locator(".wall .cam-ok").first.get_attribute("data-camera")
    page.goto(f"{server.url}/operator/cameras/{camera}")
    live = page.locator("#live")
    expect(live).to_be_visible()
    page.wait_for_function("document.getElementById('live').naturalWidth > 0")
    shot(page, "camera-live")


@pytest.mark.parametrize(
    ("user", "landing", "forbidden"),
    [
        ("canbo", "/police/", ["/operator/", "/police/stats", "/police/corrections", "/admin/users"]),
        ("chihuy", "/police/", ["/operator/", "/admin/users"]),
        ("vanhanh", "/operator/", ["/police/", "/police/stats", "/admin/users", "/police/search"]),
    ],
)
def test_forbidden_pages_for_each_role(page: Page, server: SeededServer, user: str, landing: str,
                                       forbidden: list[str]) -> None:
    sign_in(page, server, user, landing)
    for path in forbidden:
        response = page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 403, (user, path)
        expect(page.locator("h1")).to_contain_text("Không có quyền")
    if user == "canbo":
        shot(page, "forbidden")


def test_admin_creates_an_account_with_a_one_time_password(page: Page, server: SeededServer) -> None:
    sign_in(page, server, "quantri", "/police/")
    page.goto(f"{server.url}/admin/users")
    page.fill("input[name=username]", "canbo2")
    page.select_option("select[name=role]", "officer")
    page.click("form.stack button.primary")
    password = page.locator("#new-password").inner_text()
    assert len(password) >= 12
    shot(page, "admin-users")
    page.goto(f"{server.url}/admin/users")
    expect(page.locator("#new-password")).to_have_count(0)  # shown once
    expect(page.locator("table")).to_contain_text("canbo2")


def test_admin_disables_and_enables_a_camera(page: Page, server: SeededServer) -> None:
    sign_in(page, server, "quantri", "/police/")
    page.goto(f"{server.url}/admin/cameras")
    camera = sorted(server.world.cameras)[-1]
    row = page.locator(f"#cam-{camera}")
    expect(page.locator("#cameras tr[id^=cam-]")).to_have_count(len(server.world.cameras))
    row.locator("input[name=reason]").fill("Bảo trì cột camera")
    row.locator("button").click()
    page.wait_for_url("**/admin/cameras")
    expect(row).to_contain_text("Quản trị đã tắt")
    expect(row).to_contain_text("Bảo trì cột camera")
    shot(page, "admin-cameras")
    row.locator("button").click()  # "Bật lại"
    page.wait_for_url("**/admin/cameras")
    expect(row).not_to_contain_text("Quản trị đã tắt")
    page.goto(f"{server.url}/admin/tariff")
    expect(page.locator("h1")).to_contain_text("Biểu mức phạt")
    shot(page, "admin-tariff", full=True)
