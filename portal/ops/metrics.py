"""Prometheus metrics.

HTTP requests and latencies are counted in each process by `ObservabilityMiddleware`; under
gunicorn they are written to files in PROMETHEUS_MULTIPROC_DIR (config/gunicorn.conf.py sets
it) and summed over all workers at scrape time. Business counts are not counted in-process at
all: `BusinessCollector` reads them from the database at scrape time, so they are the same
whichever worker or server is scraped, survive restarts, and need no hook in the services.
Flows removed by `manage.py purge` are added to `PurgedFlowCount` so the counters never go down.
"""

import datetime as dt
import logging
import os

from django.apps import apps
from django.db import DatabaseError, connection
from django.utils.dateparse import parse_datetime
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from portal.core.clock import clock

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "mypage_http_requests",
    "HTTP requests by view, method and status.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "mypage_http_request_duration_seconds",
    "Time from the first middleware to the response, by view and method.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)
# DATABASE_UNAVAILABLE is defined by portal.core.views, which counts it (same registry).

# Flow stages (portal.registration.flow.Stage) that are still under way.
_OPEN_STAGES = ("terms_agreed", "key_sent")


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _ProcessRegistry:
    """Forwards this process's default registry (single-process mode)."""

    def collect(self):
        yield from REGISTRY.collect()


def metrics_exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(BusinessCollector())
    return generate_latest(registry)


def _table(label: str, model: str) -> str | None:
    try:
        return apps.get_model(label, model)._meta.db_table
    except LookupError:
        return None


def _db_now():
    return connection.ops.adapt_datetimefield_value(clock.now())


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class BusinessCollector:
    """Flows, mails and lockouts, counted in the database at scrape time.

    Each family is one SQL statement (one snapshot on PostgreSQL); a family whose table is
    missing or unreadable is left out and logged, so one broken query never hides the rest."""

    def collect(self):
        for family in (self._flows, self._mails, self._locks):
            try:
                yield from family()
            except DatabaseError:
                logger.exception("metrics query failed", extra={"family": family.__name__})

    def _flows(self):
        flows = _table("registration", "RegistrationFlow")
        purged = _table("ops", "PurgedFlowCount")
        # A flow left open past its deadline has failed (expired) even before anyone resumes
        # it and the service marks it ended; counting it so keeps the figures independent of
        # user behaviour and of purge.
        rows = _rows(
            f"SELECT purpose, stage, ended_reason, "  # noqa: S608 - table names from models
            f"CASE WHEN stage IN (%s, %s) AND expires_at < %s THEN 1 ELSE 0 END, COUNT(*) "
            f"FROM {flows} GROUP BY 1, 2, 3, 4 "
            f"UNION ALL SELECT purpose, stage, ended_reason, "
            f"CASE WHEN abandoned THEN 1 ELSE 0 END, count FROM {purged}",
            [*_OPEN_STAGES, _db_now()],
        )
        started = CounterMetricFamily(
            "mypage_registration_flows_started",
            "Flows started (registration or password reset).",
            labels=["purpose"],
        )
        completed = CounterMetricFamily(
            "mypage_registration_flows_completed",
            "Flows that set a password.",
            labels=["purpose"],
        )
        failed = CounterMetricFamily(
            "mypage_registration_flows_failed",
            "Flows that ended without a password: expired, too many wrong keys, superseded, "
            "address changed at the counter.",
            labels=["purpose", "reason"],
        )
        open_now = GaugeMetricFamily(
            "mypage_registration_flows_open",
            "Flows under way now (not past their deadline), by stage.",
            labels=["purpose", "stage"],
        )
        totals = {"started": {}, "completed": {}, "failed": {}, "open": {}}

        def add(kind, key, n):
            totals[kind][key] = totals[kind].get(key, 0) + int(n or 0)

        for purpose, stage, reason, abandoned, n in rows:
            add("started", (purpose,), n)
            if stage == "completed":
                add("completed", (purpose,), n)
            elif stage == "ended":
                add("failed", (purpose, reason or "unknown"), n)
            elif abandoned:
                add("failed", (purpose, "expired"), n)
            else:
                add("open", (purpose, stage), n)
        for purpose in ("register", "reset"):
            add("started", (purpose,), 0)
            add("completed", (purpose,), 0)
        for kind, family in (
            ("started", started),
            ("completed", completed),
            ("failed", failed),
            ("open", open_now),
        ):
            for labels, n in sorted(totals[kind].items()):
                family.add_metric(list(labels), n)
            yield family

    def _mails(self):
        mails = _table("mail", "OutboundMail")
        attempts = _table("mail", "MailAttempt")
        rows = _rows(
            f"SELECT 'status', status, COUNT(*), MIN(CASE WHEN status = 'queued' "  # noqa: S608
            f"THEN next_attempt_at END) FROM {mails} GROUP BY status "
            f"UNION ALL SELECT 'attempt', CASE WHEN ok THEN 'ok' ELSE 'error' END, COUNT(*), "
            f"NULL FROM {attempts} GROUP BY 2"
        )
        by_status = {status: int(n) for kind, status, n, _ in rows if kind == "status"}
        by_attempt = {outcome: int(n) for kind, outcome, n, _ in rows if kind == "attempt"}
        oldest_due = [due for kind, status, _, due in rows if kind == "status" and due]

        def counter(name, doc, value):
            family = CounterMetricFamily(name, doc)
            family.add_metric([], value)
            return family

        # Every row the service asked to send; rows written as suppressed (no match) or
        # capped (over the per-address limit) are never sent and counted apart.
        yield counter(
            "mypage_mails_queued",
            "Mails put in the outbox to be sent.",
            sum(n for s, n in by_status.items() if s not in ("suppressed", "capped")),
        )
        yield counter("mypage_mails_sent", "Mails handed to SMTP.", by_status.get("sent", 0))
        yield counter(
            "mypage_mails_failed",
            "Mails given up after the last retry.",
            by_status.get("failed", 0),
        )
        withheld = CounterMetricFamily(
            "mypage_mails_withheld",
            "Outbox rows never to be sent: suppressed (no match) or capped (per-address limit).",
            labels=["reason"],
        )
        for reason in ("suppressed", "capped"):
            withheld.add_metric([reason], by_status.get(reason, 0))
        yield withheld
        attempts_family = CounterMetricFamily(
            "mypage_mail_attempts", "SMTP delivery attempts by outcome.", labels=["outcome"]
        )
        for outcome in ("ok", "error"):
            attempts_family.add_metric([outcome], by_attempt.get(outcome, 0))
        yield attempts_family
        pending = GaugeMetricFamily(
            "mypage_mail_outbox_pending",
            "Mails waiting in the outbox (queued) or being sent now (sending).",
            labels=["status"],
        )
        for status in ("queued", "sending"):
            pending.add_metric([status], by_status.get(status, 0))
        yield pending
        age = 0.0
        if oldest_due:
            due = oldest_due[0]
            if isinstance(due, str):  # SQLite returns the stored UTC text of an expression
                due = parse_datetime(due)
            if due.tzinfo is None:
                due = due.replace(tzinfo=dt.UTC)
            age = max(0.0, (clock.now() - due).total_seconds())
        yield GaugeMetricFamily(
            "mypage_mail_outbox_oldest_due_age_seconds",
            "How long the oldest queued mail has been due (0 when none is): a stuck or "
            "missing mail worker shows here first.",
            value=age,
        )

    def _locks(self):
        throttles = _table("accounts", "LoginThrottle")
        if throttles is None:
            return
        rows = _rows(
            f"SELECT scope, COUNT(*) FROM {throttles} "  # noqa: S608
            f"WHERE locked_until > %s GROUP BY scope",
            [_db_now()],
        )
        locks = GaugeMetricFamily(
            "mypage_login_lockouts_active",
            "Login lockouts in force now, per ID + IP pair and account-wide.",
            labels=["scope"],
        )
        found = {scope: int(n) for scope, n in rows}
        for scope in sorted({"pair", "account", *found}):
            locks.add_metric([scope], found.get(scope, 0))
        yield locks
