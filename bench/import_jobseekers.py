"""Benchmark of the CSV import (`manage.py import_jobseekers`).

    ./dev bench import_jobseekers --rows 100000
    ./dev bench import_jobseekers --rows 1000000 --db postgres

Generates N synthetic job seekers into a CSV file, then on each database (a throwaway SQLite
file, and a throwaway PostgreSQL database `bench_import` that it creates and drops) runs a first
import into an empty register and an unchanged re-import over the full one. Each run is a child
process: the figures are its wall time (rows/s) and its peak resident memory (ru_maxrss). Every
row is validated and the audit events are written (one per run, one per created row). Prints
figures only; asserts nothing about time.
"""

import argparse
import datetime as dt
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432"
BENCH_DB = "bench_import"

SURNAMES = [
    ("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("髙橋", "タカハシ"),
    ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("中村", "ナカムラ"),
]  # fmt: skip
GIVEN = [
    ("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("美咲", "ミサキ"),
    ("翔", "ショウ"), ("陽菜", "ヒナ"), ("健", "ケン"), ("結衣", "ユイ"),
]  # fmt: skip
OFFICES = [
    ("13010", "ハローワーク飯田橋"), ("13020", "ハローワーク上野"),
    ("27010", "ハローワーク大阪東"), ("", ""),
]  # fmt: skip


def generate(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    base = dt.date(1950, 1, 1).toordinal()
    span = dt.date(2005, 12, 31).toordinal() - base
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("job_seeker_number,name,name_kana,email,birth_date,office\r\n")
        for i in range(rows):
            (surname, surname_kana), (given, given_kana) = rng.choice(SURNAMES), rng.choice(GIVEN)
            code, office = OFFICES[i % len(OFFICES)]
            birth = dt.date.fromordinal(base + rng.randrange(span))
            out.write(
                f"{code or '13010'}-{i:08d},{surname}{given},{surname_kana}{given_kana},"
                f"seeker{i:08d}@example.jp,{birth:%Y-%m-%d},{office}\r\n"
            )


def child(csv_path: str) -> None:
    """One import in this process; prints a JSON line with the figures."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from portal.audit.models import AuditEvent
    from portal.jobseekers.importer import jobseeker_import

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = jobseeker_import(csv_path, actor_label="bench")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": result.rejected,
                "audit_events": AuditEvent.objects.count(),
                "baseline_mb": baseline / 1024,
                "peak_mb": peak / 1024,
            }
        )
    )


def run_child(csv_path: Path, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(csv_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"import failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def django_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)


def pg_admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def report(label: str, figures: dict) -> None:
    rate = figures["rows"] / figures["seconds"]
    print(
        f"{label:<28} {figures['rows']:>9,} rows {figures['seconds']:>8.1f} s "
        f"{rate:>10,.0f} rows/s  peak {figures['peak_mb']:>6.1f} MB "
        f"(after start-up {figures['baseline_mb']:.1f} MB)  "
        f"created={figures['created']} updated={figures['updated']} "
        f"unchanged={figures['unchanged']} rejected={figures['rejected']} "
        f"audit_events={figures['audit_events']}",
        flush=True,
    )


def bench(db: str, csv_path: Path, workdir: Path, pg_server: str) -> None:
    if db == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        pg_admin(pg_server, f"DROP DATABASE IF EXISTS {BENCH_DB}")
        pg_admin(pg_server, f"CREATE DATABASE {BENCH_DB}")
        url = f"{pg_server}/{BENCH_DB}"
    env = django_env(url)
    try:
        migrate(env)
        report(f"{db} first import", run_child(csv_path, env))
        report(f"{db} unchanged re-import", run_child(csv_path, env))
    finally:
        if db == "postgres":
            pg_admin(pg_server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--pg-server",
        default=os.environ.get("BENCH_PG_SERVER", DEFAULT_PG_SERVER),
        help="PostgreSQL server URL without a database; the benchmark creates and drops "
        f"its own database {BENCH_DB}",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / f"jobseekers-{args.rows}.csv"
        started = time.perf_counter()
        generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows ({size_mb:.1f} MB) in "
            f"{time.perf_counter() - started:.1f} s; cpus={os.cpu_count()}",
            flush=True,
        )
        for db in [d.strip() for d in args.db.split(",") if d.strip()]:
            bench(db, csv_path, workdir, args.pg_server.rstrip("/"))


if __name__ == "__main__":
    main()
