"""Query counts and latency of the staff admin's job seeker list at scale (PostgreSQL).

    .venv/bin/python bench/upload_jobseekers.py --rows 1000000 --keep   # fills bench_upload
    .venv/bin/python bench/list_jobseekers.py --runs 30

Runs against the database left by bench/upload_jobseekers.py --keep (or --database-url). Adds a
few mails (some failed) and a locked account, then requests the list, each filter and a kana
search (hiragana and katakana) as a staff member through Django's test client, in this process,
and prints per page: the SQL queries of the first request (its cache cold) and its time, and
p50/p99 of the wall time over --runs further requests. Prints figures only; asserts nothing
about time.
"""

import argparse
import datetime as dt
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_upload"

PAGES = [
    ("list", {}),
    ("status=pending", {"status__exact": "pending"}),
    ("status=active", {"status__exact": "active"}),
    ("locked=yes", {"locked": "yes"}),
    ("locked=no", {"locked": "no"}),
    ("mail=failed", {"mail": "failed"}),
    ("office", {"office": "ハローワーク上野"}),
    ("search やまだ (hiragana)", {"q": "やまだ"}),
    ("search ヤマダタロウ", {"q": "ヤマダタロウ"}),
    ("search number", {"q": "13010-00000042"}),
]


class QueryLog:
    """A database execute wrapper that records the SQL of each query."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.sql.append(sql)
        return execute(sql, params, many, context)


def setup_data():
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from portal.accounts.models import LoginEvent, LoginThrottle
    from portal.accounts.services import login_key
    from portal.core.clock import clock
    from portal.jobseekers.models import JobSeeker
    from portal.mail.models import OutboundMail

    user_model = get_user_model()
    staff, _ = user_model.objects.get_or_create(
        email="bench-list@example.jp", defaults={"is_staff": True, "is_superuser": True}
    )
    # The same fixtures on every run: earlier ones are replaced.
    OutboundMail.objects.filter(kind="bench").delete()
    # A mail to every 500th job seeker, a tenth of them failed.
    mails = [
        OutboundMail(
            to=f"seeker{i:08d}@example.jp",
            kind="bench",
            subject="bench",
            body="",
            status=OutboundMail.Status.FAILED if i % 5000 == 0 else OutboundMail.Status.SENT,
        )
        for i in range(0, 1_000_000, 500)
    ]
    OutboundMail.objects.bulk_create(mails)
    # Accounts for the first 1,000 job seekers (numbers as the generator writes them),
    # one of them locked.
    offices = ["13010", "13020", "27010", "13010"]
    numbers = [f"{offices[i % 4]}-{i:08d}" for i in range(1_000)]
    for seeker in JobSeeker.objects.filter(number__in=numbers, user__isnull=True):
        account = user_model.objects.filter(
            email=seeker.email
        ).first() or user_model.objects.create_user(seeker.email, None)
        JobSeeker.objects.filter(pk=seeker.pk).update(user=account, status="active")
    locked = user_model.objects.get(email="seeker00000007@example.jp")
    LoginThrottle.objects.filter(login_key=login_key(locked.email)).delete()
    LoginEvent.objects.filter(login_key=login_key(locked.email)).delete()
    LoginThrottle.objects.create(
        login_key=login_key(locked.email),
        scope="account",
        failures=20,
        last_failure_at=clock.now(),
        locked_until=clock.now() + dt.timedelta(days=1),
    )
    LoginEvent.objects.create(
        user=locked, login_key=login_key(locked.email), outcome="password_failure"
    )
    # As autovacuum would have by now on a live database: statistics for the planner (and for
    # the list's estimated total).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = Client()
    client.force_login(staff)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_LIST_DB", DEFAULT_URL))
    args = parser.parse_args()
    os.environ.update(
        # The test settings: plain static files storage (no collectstatic manifest needed).
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=args.database_url,
        SECRET_KEY=secrets.token_urlsafe(64),
        DEBUG="0",
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from portal.jobseekers.models import JobSeeker

    setup_test_environment()  # response.context for the rows shown
    client = setup_data()
    url = reverse("admin:jobseekers_jobseeker_changelist")
    print(f"job seekers: {JobSeeker.objects.count():,}; runs per page: {args.runs}", flush=True)
    for label, params in PAGES:
        cache.clear()  # the first request of each page starts cold (the office list)
        queries = QueryLog()
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            response = client.get(url, params, secure=True)
        cold = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        shown = len(response.context["cl"].result_list)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            client.get(url, params, secure=True)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(
            f"{label:<26} queries={len(queries.sql):>2}  rows shown={shown:>3}  "
            f"first={cold:8.1f} ms  p50={statistics.median(times):8.1f} ms  p99={p99:8.1f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
