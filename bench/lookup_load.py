"""Public lookup under load: 1,000,000 cases in PostgreSQL, the app in one uvicorn process, an
open-loop load of the JSON lookup from this (second) process; prints p50/p95/p99 and errors.

    nice -n 0 .venv/bin/python bench/lookup_load.py --cases 1000000 --rate 200 --duration 30

The data go into database ``phatnguoi_bench``, schema ``lookup_<cases>`` on the server of
``--server`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``): migrated with
the shipped migrations, then filled with ``INSERT ... SELECT generate_series`` (vehicles, owners
with placeholder tokens, cases in published statuses, an original and a blurred ``at_public`` image
row per case) and ANALYZEd. A later run finds the schema complete (``bench_meta``) and reuses it;
``--reload`` rebuilds it.

Every request is a real lookup with a solved proof of work. Challenges are fetched from the server
and solved before the timed window (the cost of solving falls on the client by design and is not
what this measures), at ``--bits`` (default 8: the server's check costs the same at any difficulty,
one HMAC and one SHA-256). The per-client rate limit is raised for the single load client. The
load is open-loop: request i is due at start + i/rate and its latency counts from that moment, so
a slow server cannot hide its queue (no coordinated omission). 90% of lookups ask for a plate in
the registry (about 5 cases each), 10% for an unknown plate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "phatnguoi_bench"
SECRET = "bench-lookup-secret-0123456789abcdef"
CASES_PER_VEHICLE = 5
PROVINCES = [str(p) for p in range(50, 60)]
LETTERS = "ABCDEFGH"


def plate_of(vehicle_id: int) -> str:
    """The plate the loader gives vehicle ``vehicle_id`` (same formula as the SQL below)."""
    g = vehicle_id
    return f"{PROVINCES[g % 10]}{LETTERS[(g // 10) % 8]}{g // 80:05d}"


LOAD_SQL = """
INSERT INTO units (id, code, name, address, phone) VALUES
 (1, 'pc08', 'Phòng Cảnh sát giao thông Công an TP. Hồ Chí Minh', '459 Trần Hưng Đạo, TP. Hồ Chí Minh', '069 3187 346'),
 (2, 'ca-bt', 'Công an phường Bến Thành', '1 Lê Thánh Tôn, Phường Bến Thành, TP. Hồ Chí Minh', '028 3829 0000');
INSERT INTO cameras (id, name, address, unit_id)
 VALUES ('cam-01', 'Ngã tư', 'Ngã tư Nguyễn Thị Minh Khai - Hai Bà Trưng', 1);
INSERT INTO owners (id, name_enc, id_number_enc, address_enc, phone_enc, email_enc, created_at)
 SELECT g, 'bench-token', '', '', '', '', now() FROM generate_series(1, %(vehicles)s) g;
INSERT INTO vehicles (id, plate_normalized, plate_printed, vehicle_type, plate_colour, brand, owner_id, updated_at)
 SELECT g, p, substr(p, 1, 3) || '-' || substr(p, 4, 3) || '.' || substr(p, 7, 2), 'car', 'white', '', g, now()
 FROM (SELECT g, (ARRAY['50','51','52','53','54','55','56','57','58','59'])[1 + g %% 10]
              || substr('ABCDEFGH', 1 + (g / 10) %% 8, 1) || lpad((g / 80)::text, 5, '0') AS p
       FROM generate_series(1, %(vehicles)s) g) s;
INSERT INTO cases (id, case_number, violation_id, rule, rule_version, camera_id, occurred_at, place,
  vehicle_class, plate_read, plate_confirmed, plate_key, plate_colour, plate_layout, plate_confidence,
  needs_manual_plate, plate_candidates, measurement, model_versions, evidence_signature, fine_min_vnd,
  fine_max_vnd, points, legal_reference, tariff_version, status, outcome, notify_by, expires_at,
  detecting_unit_id, resolving_unit_id, vehicle_id, reviewed_by, status_changed_at, created_at, updated_at)
 SELECT g, 'HCM-B-' || lpad(g::text, 7, '0'), md5(g::text), 'red_light', '1', 'cam-01', ts,
  'Ngã tư Nguyễn Thị Minh Khai - Hai Bà Trưng', 'car', v.plate_normalized, v.plate_normalized,
  v.plate_normalized, 'white', 'one-row', 0.95, false, '[]', '{"signal_phase": "red"}', '{}', '',
  18000000, 20000000, 4, 'điểm b khoản 9 Điều 6 Nghị định 168/2024/NĐ-CP', 'nd168',
  CASE WHEN g %% 4 = 0 THEN 'closed' ELSE 'notified' END, CASE WHEN g %% 4 = 0 THEN 'paid' END,
  ts + interval '10 days', ts + interval '1 year', 1, CASE WHEN g %% 7 = 0 THEN 2 ELSE 1 END, v.id,
  'bench', ts, ts, ts
 FROM (SELECT g, timestamptz '2025-06-01 00:00+07' + g * interval '20 seconds' AS ts
       FROM generate_series(1, %(cases)s) g) s
 JOIN vehicles v ON v.id = 1 + (s.g %% %(vehicles)s);
INSERT INTO evidence (case_id, role, sha256, storage_key, frame_sequence)
 SELECT g, r, md5(g::text || r) || md5(r || g::text), 'bench', 100
 FROM generate_series(1, %(cases)s) g CROSS JOIN (VALUES ('at'), ('at_public')) roles(r);
CREATE TABLE bench_meta (cases integer, vehicles integer, loaded_at timestamptz DEFAULT now());
INSERT INTO bench_meta (cases, vehicles) VALUES (%(cases)s, %(vehicles)s);
"""


def ensure_data(server: str, cases: int, reload: bool) -> tuple[str, str, dict[str, float]]:
    """The database URL and schema holding ``cases`` cases, loading them when needed."""
    import psycopg
    from sqlalchemy.engine import make_url

    from cases.db import drop_schema, upgrade

    admin = make_url(server)
    with psycopg.connect(
        admin.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
    ) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    url = admin.set(database=DATABASE).render_as_string(hide_password=False)
    schema = f"lookup_{cases}"
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    timings: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        have = conn.execute("SELECT to_regclass('bench_meta')").fetchone()[0]
        done = have and conn.execute("SELECT cases FROM bench_meta").fetchone() == (cases,)
    if done and not reload:
        return url, schema, {"reused": 1.0}
    drop_schema(url, schema)
    start = time.perf_counter()
    upgrade(url, schema=schema)
    timings["migrate_s"] = round(time.perf_counter() - start, 1)
    vehicles = max(1, cases // CASES_PER_VEHICLE)
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("SET synchronous_commit = off")
        start = time.perf_counter()
        for statement in filter(str.strip, LOAD_SQL.split(";\n")):
            params = {"cases": cases, "vehicles": vehicles} if "%(" in statement else None
            conn.execute(statement if params else statement.replace("%%", "%"), params)
        conn.commit()
        timings["load_s"] = round(time.perf_counter() - start, 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        start = time.perf_counter()
        conn.execute("ANALYZE")
        timings["analyze_s"] = round(time.perf_counter() - start, 1)
    return url, schema, timings


def serve(url: str, schema: str, port: int, bits: int) -> None:
    """The app, as the service runs it: one uvicorn process."""
    import logging

    import uvicorn

    from cases.db import make_engine, session_factory
    from detection.evidence_store import FileEvidenceStore
    from phatnguoi.web import create_app
    from phatnguoi.web.routers.public import configure_public

    logging.getLogger("phatnguoi.public.lookup").setLevel(logging.WARNING)  # no log I/O in the figures
    engine = make_engine(url, schema=schema)
    app = create_app(
        session_factory=session_factory(engine), evidence_store=FileEvidenceStore(tempfile.mkdtemp()), secret_key=SECRET
    )
    configure_public(app, pow_bits=bits, lookups_per_minute=1e7, lookup_burst=1e6, challenges_per_minute=1e7)
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)


class Http:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: little client-side overhead."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port, self.size = host, port, connections
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def get(self, path: str) -> tuple[int, bytes]:
        reader, writer = await self.pool.get()
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
        except Exception:
            writer.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            raise
        finally:
            self.pool.put_nowait((reader, writer))
        return status, body


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(port: int, args: argparse.Namespace, vehicles: int, server_pid: int) -> dict[str, object]:
    from notices.abuse import solve

    prefetch = Http("127.0.0.1", port, 1)
    await prefetch.open()
    total = int(args.rate * (args.warmup + args.duration))
    rng = random.Random(7)
    plates = [
        plate_of(rng.randint(1, vehicles))
        if rng.random() < 0.9
        else f"6{rng.randint(0, 9)}C{rng.randint(0, 99999):05d}"
        for _ in range(total)
    ]
    start = time.perf_counter()
    challenges = [json.loads((await prefetch.get("/api/public/challenge"))[1])["challenge"] for _ in range(total)]
    fetch_s = time.perf_counter() - start
    start = time.perf_counter()
    paths = []
    for plate, challenge in zip(plates, challenges, strict=True):
        pow_ = solve(challenge, plate, "car", args.bits)
        query = {"plate": plate, "vehicle_type": "car", "challenge": challenge, "pow": pow_}
        paths.append(f"/api/public/lookup?{urlencode(query)}")
    solve_s = time.perf_counter() - start
    http = Http("127.0.0.1", port, args.connections)  # opened now: idle keep-alives time out (5 s)
    await http.open()
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {"with_cases": [], "without_cases": []}
    statuses: dict[int, int] = {}
    found = [0, 0]
    errors: list[str] = []
    begin = loop.time() + 0.2
    warm = int(args.rate * args.warmup)

    async def one(i: int, path: str, due: float) -> None:
        try:
            status, body = await http.get(path)
        except Exception as exc:  # counted, never hidden
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        if i < warm:
            return
        latencies.append(loop.time() - due)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            has = bool(json.loads(body)["cases"])
            found[0 if has else 1] += 1
            by_kind["with_cases" if has else "without_cases"].append((loop.time() - due) * 1000)

    tasks = []
    server_cpu = cpu_seconds(server_pid)
    for i, path in enumerate(paths):
        due = begin + i / args.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, path, due)))
    await asyncio.gather(*tasks)
    server_cpu = cpu_seconds(server_pid) - server_cpu
    measured = total - warm
    ms = [x * 1000 for x in latencies]
    return {
        "requests": measured,
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "status_counts": statuses,
        "errors": len(errors) + sum(n for s, n in statuses.items() if s != 200),
        "error_samples": errors[:3],
        "lookups_with_cases": found[0],
        "lookups_without_cases": found[1],
        "p50_ms": round(percentile(ms, 0.50), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
        # an unknown plate must not answer measurably faster than a known one (enumeration)
        "p50_ms_by_answer": {k: round(percentile(v, 0.5), 2) for k, v in by_kind.items() if v},
        # the app's own cost, whatever else runs: CPU of the uvicorn process per lookup (warm-up included)
        "server_cpu_ms_per_lookup": round(server_cpu / total * 1000, 2),
        "prefetch_challenges_s": round(fetch_s, 1),
        "solve_pow_s": round(solve_s, 1),
    }


def others_running() -> list[str]:
    """The busiest other processes while the benchmark ran (what else shared the machine)."""
    out = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
    return [" ".join(line.split()) for line in out.splitlines()[1:9]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("PHATNGUOI_BENCH_POSTGRES", DEFAULT_SERVER))
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reload", action="store_true", help="rebuild the data even if present")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "SCHEMA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], args.port, args.bits)
        return
    url, schema, timings = ensure_data(args.server, args.cases, args.reload)
    print(json.dumps({"data": timings, "schema": schema}), flush=True)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, schema, "--port", str(args.port), "--bits", str(args.bits)]
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{args.port}/api/public/challenge", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.3)
        load_before = os.getloadavg()
        result = asyncio.run(load(args.port, args, max(1, args.cases // CASES_PER_VEHICLE), server.pid))
        result.update(
            cases=args.cases,
            load_avg_before=load_before,
            load_avg_after=os.getloadavg(),
            cpu_count=os.cpu_count(),
            busiest_processes_after=others_running(),
            data=timings,
        )
        print(json.dumps(result, ensure_ascii=False, indent=1))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
