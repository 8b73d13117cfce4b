"""Benchmark of the staff admin's CSV upload on PostgreSQL: the upload request, then the
import by the worker (`manage.py deliver_mail --once`, the code path of the running worker).

    .venv/bin/python bench/upload_jobseekers.py --rows 1000000 [--keep]

Generates N synthetic job seekers (bench/import_jobseekers.py's generator) into a CSV file,
creates a throwaway PostgreSQL database `bench_upload`, posts the file to the admin's upload
page as a staff member (Django's test client, in a child process), then runs the worker in
another child process. Prints each step's wall time and the child's peak resident memory
(ru_maxrss), and the upload's counts. With --keep the database stays for bench/list_jobseekers.py.
Prints figures only; asserts nothing about time.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_jobseekers import DEFAULT_PG_SERVER, ROOT, django_env, generate, migrate, pg_admin

BENCH_DB = "bench_upload"


def child_upload(csv_path: str) -> dict:
    from django.test import Client
    from django.urls import reverse

    from portal.accounts.models import User

    staff = User.objects.create_superuser("bench-staff@example.jp", "Bench#pass1")
    client = Client()
    client.force_login(staff)
    started = time.perf_counter()
    with open(csv_path, "rb") as file:
        response = client.post(
            reverse("admin:jobseekers_jobseeker_upload"), {"file": file}, secure=True
        )
    seconds = time.perf_counter() - started
    if response.status_code != 302:
        raise SystemExit(f"upload refused: {response.status_code}")
    return {"seconds": seconds}


def child_worker(_csv_path: str) -> dict:
    import io

    from django.core.management import call_command

    from portal.jobseekers.models import JobSeekerUpload

    started = time.perf_counter()
    call_command("deliver_mail", once=True, stdout=io.StringIO())
    seconds = time.perf_counter() - started
    upload = JobSeekerUpload.objects.latest("created_at")
    return {
        "seconds": seconds,
        "status": upload.status,
        "rows": upload.rows,
        "created": upload.created,
        "rejected": upload.rejected,
        "file_deleted": upload.stored_path == "",
    }


def child(mode: str, csv_path: str) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    figures = {"upload": child_upload, "worker": child_worker}[mode](csv_path)
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def run_child(mode: str, csv_path: Path, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(csv_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg-server", default=os.environ.get("BENCH_PG_SERVER", DEFAULT_PG_SERVER))
    parser.add_argument("--keep", action="store_true", help="keep the database bench_upload")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    server = args.pg_server.rstrip("/")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        csv_path = Path(tmp) / f"jobseekers-{args.rows}.csv"
        generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.1f} MB); cpus={os.cpu_count()}", flush=True)
        pg_admin(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        pg_admin(server, f"CREATE DATABASE {BENCH_DB}")
        env = django_env(f"{server}/{BENCH_DB}")
        env.update(
            ALLOWED_HOSTS="testserver",
            CSV_UPLOAD_DIR=str(Path(tmp) / "uploads"),
            CSV_UPLOAD_MAX_MB=str(int(size_mb) + 10),
        )
        try:
            migrate(env)
            up = run_child("upload", csv_path, env)
            print(
                f"upload request  {up['seconds']:8.1f} s  peak {up['peak_mb']:7.1f} MB", flush=True
            )
            work = run_child("worker", csv_path, env)
            print(
                f"worker import   {work['seconds']:8.1f} s  peak {work['peak_mb']:7.1f} MB  "
                f"{work['rows'] / work['seconds']:,.0f} rows/s  status={work['status']} "
                f"rows={work['rows']} created={work['created']} rejected={work['rejected']} "
                f"file_deleted={work['file_deleted']}",
                flush=True,
            )
        finally:
            if not args.keep:
                pg_admin(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
