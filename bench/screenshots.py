"""Screenshots of the screens for docs/, with Playwright driving Debian's Chromium.

    .venv/bin/python bench/screenshots.py [--out docs/img]
        runs the browser tests (tests/web/test_browser_screens.py) over a seeded back office
        (bench/pages_seed.py: simulator frames as evidence, every role) and keeps a screenshot of
        each screen: login, review queue, case, corrections, statistics, search, camera wall,
        live view, forbidden page, accounts.
    .venv/bin/python bench/screenshots.py --url http://127.0.0.1:8000 --user canbo --password ...
        the queue, a case, the lookup and the operator page of a running demo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running demo; without it, a seeded back office is used")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--plate", help="plate for the public lookup screenshot")
    parser.add_argument("--vehicle-type", default="motorbike")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.url:
        seeded(args.out)
        return
    if not (args.user and args.password):
        parser.error("--url needs --user and --password")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(f"{args.url}/police/login")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", args.password)
        page.click("form button.primary")
        page.wait_for_url("**/police/")
        page.screenshot(path=args.out / "screen-review-queue.png", full_page=False)
        first = page.locator("a[href^='/police/cases/']").first
        first.click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=args.out / "screen-case.png", full_page=True)
        if args.plate:
            page.goto(f"{args.url}/lookup?plate={args.plate}&vehicle_type={args.vehicle_type}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=args.out / "screen-public-lookup.png", full_page=True)
        page.goto(f"{args.url}/operator/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=args.out / "screen-operator.png", full_page=False)
        browser.close()
    for name in sorted(args.out.glob("screen-*.png")):
        print(name, name.stat().st_size)


def seeded(out: Path) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PHATNGUOI_SCREENSHOTS": str(out.resolve())}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    str(root / "tests" / "web" / "test_browser_screens.py")], env=env, check=True, cwd=root)
    for name in sorted(out.glob("screen-*.png")):
        print(name, name.stat().st_size)


if __name__ == "__main__":
    main()
