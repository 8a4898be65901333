"""Walk through a running demo the way an officer and an owner would, over HTTP.

    .venv/bin/python bench/demo_walkthrough.py --url http://127.0.0.1:8000 --user canbo --password ...

Signs in, waits for the review queue to show cases, approves the first case whose plate is in the
vehicle registry (trying the read plate of each), waits for its notice PDF, checks the PDF, and
finds the case on the public lookup by plate. Prints one JSON object with what it saw; exits 1
when a step fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

import httpx

from notices.abuse import solve


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"\s+value="([^"]+)"', html)
    if not match:
        raise SystemExit("no CSRF token in the form")
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    seen: dict = {}
    started = time.monotonic()
    with httpx.Client(base_url=args.url, follow_redirects=True, timeout=30) as web:
        form = web.get("/police/login")
        r = web.post("/police/login", data={"username": args.user, "password": args.password,
                                             "csrf_token": csrf(form.text), "next": "/police/"})
        if r.status_code != 200 or "/police/login" in str(r.url):
            sys.exit(f"sign-in failed: {r.status_code} {r.url}")
        approved = None
        tried: set[int] = set()
        while approved is None and time.monotonic() - started < args.timeout:
            queue = web.get("/api/cases/queue").json()
            cases = queue if isinstance(queue, list) else queue.get("cases", [])
            if cases and "first_case_after_s" not in seen:
                seen["first_case_after_s"] = round(time.monotonic() - started, 1)
            for case in cases:
                if case["id"] in tried:
                    continue
                tried.add(case["id"])
                page = web.get(f"/police/cases/{case['id']}")
                seen["evidence_images_on_case_page"] = len(re.findall(r"/police/evidence/[0-9a-f]{64}", page.text))
                r = web.post(f"/police/cases/{case['id']}/approve", data={"csrf_token": csrf(page.text)})
                if "error=" not in str(r.url):
                    approved = case
                    break
                seen.setdefault("not_approvable", []).append(
                    {"case": case.get("case_number"), "plate": case.get("plate_read"),
                     "why": httpx.URL(str(r.url)).params.get("error")})
            if approved is None:
                time.sleep(5)
        if approved is None:
            print(json.dumps(seen, ensure_ascii=False))
            sys.exit("no case could be approved in time")
        seen["approved"] = {k: approved.get(k) for k in ("id", "case_number", "plate_read", "rule")}
        notice = None
        while notice is None and time.monotonic() - started < args.timeout + 60:
            detail = web.get(f"/api/cases/{approved['id']}").json()
            notice = next(iter(detail.get("notices") or []), None)
            if notice is None:
                time.sleep(2)
        if notice is None:
            sys.exit(f"no notice rendered for {approved}")
        pdf = web.get(f"/police/notices/{notice['id']}.pdf")
        seen["notice_pdf"] = {"status": detail["status"], "bytes": len(pdf.content),
                              "is_pdf": pdf.content[:5] == b"%PDF-"}
        plate = detail.get("plate_confirmed") or approved["plate_read"]
        vtype = "motorbike" if detail.get("vehicle_class") == "motorbike" else "car"
        # the public API asks for a solved proof of work bound to this plate and vehicle type
        issued = httpx.get(f"{args.url}/api/public/challenge").json()
        pow_counter = solve(issued["challenge"], plate, vtype, issued["bits"])
        lookup = httpx.get(f"{args.url}/api/public/lookup",
                           params={"plate": plate, "vehicle_type": vtype, "challenge": issued["challenge"],
                                   "pow": pow_counter}).json()
        seen["public_lookup"] = {"plate": plate, "vehicle_type": vtype, "cases": len(lookup["cases"]),
                                 "found": any(c.get("case_number") == approved["case_number"] for c in lookup["cases"])}
    print(json.dumps(seen, ensure_ascii=False))
    ok = seen["notice_pdf"]["is_pdf"] and seen["public_lookup"]["found"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
