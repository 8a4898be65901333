"""How fast the people's screens answer with 10,000 cases in the database.

    .venv/bin/python bench/pages_render.py [--cases 10000] [--repeat 30] [--database-url postgresql+psycopg://...]

Seeds a back office (simulator frames as evidence, accounts of every role) plus ``--cases`` cases
in bulk (statuses spread over review, filed, notified, rejected, closed; 60 days of dates), serves
the app with uvicorn on loopback, signs in as each role and times each page over real HTTP
(``--repeat`` times after two warm-ups). Prints p50/p95 per page and one JSON line; exits 1 when
a page's p95 is over ``--budget-ms`` (200 ms by default).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pages_seed import SeededServer  # noqa: E402

PASSWORDS = {"canbo": "bench-officer-pass", "chihuy": "bench-supervisor-pass", "vanhanh": "bench-operator-pass",
             "quantri": "bench-admin-pass-1"}


def pages(server: SeededServer) -> list[tuple[str, str, str]]:
    """(name, user, path) of every screen to time."""
    case = server.world.case_ids[0]
    with server.session_factory() as session:
        from sqlalchemy import select

        from cases.models import Case

        plate = session.scalar(select(Case.plate_key).where(Case.plate_key.is_not(None)).limit(1))
        number = session.scalar(select(Case.case_number).order_by(Case.id.desc()).limit(1))
    camera = sorted(server.world.cameras)[0]
    return [
        ("review queue", "canbo", "/police/?all_units=1"),
        ("review queue, filtered", "canbo", f"/police/?all_units=1&camera={camera}&confidence=high"),
        ("case page", "canbo", f"/police/cases/{case}"),
        ("search by plate", "canbo", f"/police/search?plate={plate}"),
        ("search by case number", "canbo", f"/police/search?case_number={number}"),
        ("search by dates + status", "canbo", "/police/search?date_from=2000-01-01&date_to=2100-01-01&status=filed"),
        ("statistics, 14 days", "chihuy", "/police/stats"),
        ("statistics, 90 days", "chihuy", "/police/stats?days=90"),
        ("plate corrections", "chihuy", "/police/corrections"),
        ("camera wall", "vanhanh", "/operator/"),
        ("camera page", "vanhanh", f"/operator/cameras/{camera}"),
        ("users (admin)", "quantri", "/admin/users"),
        ("API review queue (50)", "canbo", "/api/cases/queue"),
    ]


def sign_in(client: httpx.Client, user: str) -> None:
    import re

    form = client.get("/police/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    r = client.post("/police/login", data={"username": user, "password": PASSWORDS[user], "csrf_token": token})
    if r.status_code != 303:
        raise SystemExit(f"sign-in of {user} failed: {r.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--budget-ms", type=float, default=200.0)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        server = SeededServer(Path(tmp), bulk=args.cases, passwords=PASSWORDS, database_url=args.database_url)
        with server.session_factory() as session:
            from sqlalchemy import func, select

            from cases.models import Case

            total = session.scalar(select(func.count()).select_from(Case))
        print(f"seeded {total} cases in {time.perf_counter() - t0:.1f} s "
              f"({server.engine.dialect.name})", file=sys.stderr)
        results = {}
        with server:
            clients: dict[str, httpx.Client] = {}
            for name, user, path in pages(server):
                if user not in clients:
                    clients[user] = httpx.Client(base_url=server.url, timeout=30)
                    sign_in(clients[user], user)
                client = clients[user]
                times = []
                for n in range(args.repeat + 2):
                    start = time.perf_counter()
                    r = client.get(path)
                    elapsed = (time.perf_counter() - start) * 1000
                    if r.status_code != 200:
                        raise SystemExit(f"{name}: {path} answered {r.status_code}")
                    if n >= 2:
                        times.append(elapsed)
                times.sort()
                p50 = statistics.median(times)
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                results[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "bytes": len(r.content)}
                print(f"{name:28s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {len(r.content) / 1024:6.1f} KiB")
            for client in clients.values():
                client.close()
    over = {k: v for k, v in results.items() if v["p95_ms"] > args.budget_ms}
    print(json.dumps({"cases": total, "database": server.engine.dialect.name, "repeat": args.repeat,
                      "pages": results, "over_budget": sorted(over)}))
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
