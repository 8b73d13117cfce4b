"""Benchmark of the integration API on PostgreSQL, against gunicorn (config/gunicorn.conf.py)
with the production settings over plain HTTP on loopback.

    .venv/bin/python bench/api.py                       # 100,000 rows, 1,000,000 job seekers
    .venv/bin/python bench/api.py --batch-rows 10000 --seekers 100000   # a quick look

1. POST /api/v1/jobseekers/batch: `--batch-rows` new job seekers in batches of 1,000, one
   request after another, each with an Idempotency-Key; every row is validated and audited.
   Prints rows/s (wall time of all the requests).
2. GET /api/v1/jobseekers/{number} with `--seekers` job seekers registered (the rest imported
   with manage.py import_jobseekers, the register's COPY path): `--reads` reads of random
   numbers, one at a time; prints p50, p90, p99 and max of the response time.

It creates and drops a throwaway PostgreSQL database (`bench_api`). Prints figures only;
asserts nothing about time.
"""

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_jobseekers import generate

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
BENCH_DB = "bench_api"


def env_for(args) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"{args.pg_server}/{BENCH_DB}",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        API_REQUESTS_PER_TOKEN_PER_MINUTE="1000000000",  # noqa: S106 - a limit, not a secret
        GUNICORN_BIND=f"127.0.0.1:{args.port}",
        LOG_LEVEL="WARNING",
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    return env


def manage(env, *argv) -> str:
    out = subprocess.run(
        [PYTHON, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout


def recreate_database(server: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database(server: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def wait_ready(base: str, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn was not ready within 60 s")


def batch_rows(start: int, count: int) -> list[dict]:
    return [
        {
            "number": f"27010-{start + i:08d}",
            "name": "山田太郎",
            "name_kana": "ヤマダタロウ",
            "email": f"api{start + i:08d}@example.jp",
            "birth_date": "1990-04-01",
            "office": "ハローワーク大阪東",
        }
        for i in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--seekers", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=5_000)
    args = parser.parse_args()
    env = env_for(args)
    recreate_database(args.pg_server)
    gunicorn = None
    try:
        manage(env, "migrate", "--noinput", "-v0")
        token = manage(
            env, "api_token", "create", "--client", "bench",
            "--scope", "register:read", "--scope", "register:write",
        ).strip().splitlines()[-1]  # fmt: skip
        gunicorn = subprocess.Popen(
            [GUNICORN, "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{args.port}"
        wait_ready(base, gunicorn)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=300) as client:
            started = time.perf_counter()
            created = 0
            for start in range(0, args.batch_rows, 1000):
                rows = batch_rows(start, min(1000, args.batch_rows - start))
                answer = client.post(
                    "/jobseekers/batch",
                    json={"rows": rows},
                    headers={"Idempotency-Key": f"bench-{start}"},
                )
                answer.raise_for_status()
                created += answer.json()["created"]
            elapsed = time.perf_counter() - started
            print(
                f"batch: {created} rows created in {elapsed:.1f} s = "
                f"{created / elapsed:,.0f} rows/s (batches of 1,000, sequential)"
            )
            rest = args.seekers - created
            if rest > 0:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "seekers.csv"
                    generate(path, rest)
                    t0 = time.perf_counter()
                    manage(env, "import_jobseekers", str(path))
                    print(f"import: {rest:,} more job seekers in {time.perf_counter() - t0:.0f} s")
            # The CSV generator's rows include some the register refuses: top up through the API.
            with psycopg.connect(f"{args.pg_server}/{BENCH_DB}", autocommit=True) as conn:
                count = "SELECT count(*) FROM jobseekers_jobseeker"
                start = args.batch_rows
                while (missing := args.seekers - conn.execute(count).fetchone()[0]) > 0:
                    client.post(
                        "/jobseekers/batch", json={"rows": batch_rows(start, min(1000, missing))}
                    ).raise_for_status()
                    start += 1000
                conn.execute("ANALYZE")
                total = conn.execute(count).fetchone()[0]
                numbers = [
                    n for (n,) in conn.execute(
                        "SELECT number FROM jobseekers_jobseeker TABLESAMPLE SYSTEM (1)"
                    )
                ]  # fmt: skip
            rng = random.Random(1)
            for number in rng.sample(numbers, min(100, len(numbers))):  # warm-up
                client.get(f"/jobseekers/{number}").raise_for_status()
            times = []
            for _ in range(args.reads):
                number = rng.choice(numbers)
                t0 = time.perf_counter()
                client.get(f"/jobseekers/{number}").raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"GET /jobseekers/{{number}} with {total:,} job seekers, {args.reads} reads: "
                f"p50 {statistics.median(times):.1f} ms, p90 {percentile(times, 0.9):.1f} ms, "
                f"p99 {percentile(times, 0.99):.1f} ms, max {max(times):.1f} ms"
            )
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(30)
        drop_database(args.pg_server)


if __name__ == "__main__":
    main()
