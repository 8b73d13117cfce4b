"""Retention (`manage.py purge`): what the service keeps, and for how long.

    finished flows       completed or ended, RETENTION_FLOWS_DAYS after their last change;
                         open ones RETENTION_FLOWS_DAYS after their deadline passed
    sessions             expired ones (in the database; the cache expires its copies itself),
                         and expired rows of the database cache
    mail bodies          blanked (body and sealed key) RETENTION_MAIL_BODIES_DAYS after the
                         mail was sent, or was written if it never will be
    audit events         deleted after RETENTION_AUDIT_EVENTS_DAYS
    login records        finished one-time-password steps, expired trusted browsers, tracked
                         sessions that ended, idle failure counters, and login events after
                         RETENTION_LOGIN_EVENTS_DAYS

A retention of 0 days keeps that kind forever. Work is done in batches, each its own short
transaction, so a purge of a large backlog never holds long locks.
"""

import datetime as dt
import functools
import logging
import operator
from dataclasses import dataclass, field
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connections, router, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from portal.accounts.models import (
    LoginChallenge,
    LoginEvent,
    LoginThrottle,
    TrustedBrowser,
    UserSession,
)
from portal.accounts.selectors import user_session_live
from portal.api.idempotency import idempotency_records_purge
from portal.audit.feed import feed_events_purge
from portal.audit.models import AuditEvent
from portal.core.clock import clock
from portal.mail.models import OutboundMail
from portal.ops.models import PurgedFlowCount
from portal.registration.models import RegistrationFlow

logger = logging.getLogger(__name__)

_OPEN = ("terms_agreed", "key_sent")
_FINISHED = ("completed", "ended")
_MAIL_FINAL = (
    OutboundMail.Status.FAILED,
    OutboundMail.Status.SUPPRESSED,
    OutboundMail.Status.CAPPED,
)


@dataclass
class PurgeReport:
    flows: int = 0
    sessions: int | None = None  # None: the session engine expires its own
    cache_entries: int | None = None
    mail_bodies: int = 0
    audit_events: int = 0
    login_records: int = 0
    feed_events: int = 0
    idempotency_keys: int = 0
    skipped: list[str] = field(default_factory=list)


def _cutoff(days: int, now: dt.datetime) -> dt.datetime | None:
    return now - dt.timedelta(days=days) if days > 0 else None


def _batches(queryset, batch_size: int, apply) -> int:
    """Applies `apply(ids)` to the matching rows, one transaction per batch of ids."""
    done = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return done
            apply(ids)
            done += len(ids)


def flows_purge(*, now: dt.datetime, batch_size: int, dry_run: bool = False) -> int:
    cutoff = _cutoff(settings.RETENTION_FLOWS_DAYS, now)
    if cutoff is None:
        return 0
    old = RegistrationFlow.objects.filter(
        Q(stage__in=_FINISHED, updated_at__lt=cutoff) | Q(stage__in=_OPEN, expires_at__lt=cutoff)
    )
    if dry_run:
        return old.count()

    def purge(ids):  # the ids are locked (skipping rows another purge holds) on PostgreSQL
        batch = RegistrationFlow.objects.filter(pk__in=ids)
        groups = batch.values("purpose", "stage", "ended_reason").annotate(n=Count("pk"))
        for group in groups:
            abandoned = group["stage"] in _OPEN
            tally, _ = PurgedFlowCount.objects.select_for_update().get_or_create(
                purpose=group["purpose"],
                stage=group["stage"],
                ended_reason=group["ended_reason"],
                abandoned=abandoned,
            )
            PurgedFlowCount.objects.filter(pk=tally.pk).update(count=F("count") + group["n"])
        batch.delete()

    return _batches(old.select_for_update(skip_locked=True), batch_size, purge)


def sessions_purge(*, dry_run: bool = False) -> int | None:
    """Expired database sessions, kept by Django's `db` and `cached_db` engines (None for
    engines that expire their own, like the cache)."""
    engine = import_module(settings.SESSION_ENGINE)
    if not issubclass(engine.SessionStore, DatabaseSessionStore):
        return None
    # Sessions expire by the wall clock (Django's), not the service clock.
    expired = Session.objects.filter(expire_date__lt=timezone.now())
    if dry_run:
        return expired.count()
    count = expired.count()
    engine.SessionStore.clear_expired()
    return count


def cache_entries_purge(*, dry_run: bool = False) -> int | None:
    """Expired rows of the database cache (rate-limit windows, sessions when cached)."""
    config = settings.CACHES.get("default", {})
    if config.get("BACKEND") != "django.core.cache.backends.db.DatabaseCache":
        return None
    table = config["LOCATION"]
    alias = router.db_for_write(caches["default"].cache_model_class)
    connection = connections[alias]
    quoted = connection.ops.quote_name(table)
    now = connection.ops.adapt_datetimefield_value(dt.datetime.now(dt.UTC))
    with connection.cursor() as cursor:
        if dry_run:
            cursor.execute(f"SELECT COUNT(*) FROM {quoted} WHERE expires < %s", [now])  # noqa: S608
            return cursor.fetchone()[0]
        cursor.execute(f"DELETE FROM {quoted} WHERE expires < %s", [now])  # noqa: S608
        return cursor.rowcount


def mail_bodies_purge(*, now: dt.datetime, batch_size: int, dry_run: bool = False) -> int:
    cutoff = _cutoff(settings.RETENTION_MAIL_BODIES_DAYS, now)
    if cutoff is None:
        return 0
    old = OutboundMail.objects.filter(
        Q(status=OutboundMail.Status.SENT, sent_at__lt=cutoff)
        | Q(status__in=_MAIL_FINAL, created_at__lt=cutoff)
    ).filter(Q(secret_sealed__isnull=False) | ~Q(body=""))
    if dry_run:
        return old.count()
    return _batches(
        old,
        batch_size,
        lambda ids: OutboundMail.objects.filter(pk__in=ids).update(body="", secret_sealed=None),
    )


def audit_events_purge(*, now: dt.datetime, batch_size: int, dry_run: bool = False) -> int:
    cutoff = _cutoff(settings.RETENTION_AUDIT_EVENTS_DAYS, now)
    if cutoff is None:
        return 0
    old = AuditEvent.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return old.count()
    return _batches(old, batch_size, lambda ids: AuditEvent.objects.filter(pk__in=ids).delete())


def login_records_purge(*, now: dt.datetime, batch_size: int, dry_run: bool = False) -> int:
    """Finished one-time-password steps, expired trusted browsers, tracked sessions whose
    session has ended, failure counters nobody has touched for a failure window (unless they
    hold a lock), and login events past RETENTION_LOGIN_EVENTS_DAYS."""
    day_ago = now - dt.timedelta(days=1)
    window_start = now - dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    querysets = [
        # A counter past its window counts from 0 again anyway (accounts.services.lockout). Counters
        # a login holds are skipped, so the purge never waits for (or deadlocks with) a login.
        LoginThrottle.objects.filter(
            Q(last_failure_at__lt=window_start) | Q(last_failure_at__isnull=True),
            Q(locked_until__isnull=True) | Q(locked_until__lte=now),
        ).select_for_update(skip_locked=True),
        LoginChallenge.objects.filter(expires_at__lt=day_ago),
        TrustedBrowser.objects.filter(expires_at__lt=now),
    ]
    events_cutoff = _cutoff(settings.RETENTION_LOGIN_EVENTS_DAYS, now)
    if events_cutoff is not None:
        querysets.append(LoginEvent.objects.filter(created_at__lt=events_cutoff))
    ended = _ended_sessions(UserSession, batch_size)
    if dry_run:
        return len(ended) + sum(queryset.count() for queryset in querysets)
    forgotten = 0
    for start in range(0, len(ended), _PAIRS_PER_DELETE):
        # Each row goes only with the key seen ended: a password change meanwhile may have
        # moved the row to its session's new key (user_session_rekey), and a key seen ended
        # never comes back (session keys are never reused).
        pairs = ended[start : start + _PAIRS_PER_DELETE]
        forgotten += UserSession.objects.filter(
            functools.reduce(operator.or_, (Q(pk=pk, session_key=key) for pk, key in pairs))
        ).delete()[0]
    return forgotten + sum(
        _batches(
            queryset,
            batch_size,
            # The batch's rows are matched again as they are deleted: a failure counter a
            # login touched since it was picked stays.
            lambda ids, queryset=queryset: queryset.filter(pk__in=ids).delete(),
        )
        for queryset in querysets
    )


_PAIRS_PER_DELETE = 200


def _ended_sessions(tracked, batch_size: int) -> list[tuple[int, str]]:
    """(id, key) of the tracked sessions whose server-side session is gone (logged out
    elsewhere, expired, evicted). A session lives as long as it is used, so its age alone
    says nothing."""
    ended, after = [], 0
    while True:
        rows = list(
            tracked.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "session_key")[:batch_size]
        )
        if not rows:
            return ended
        ended += [(pk, key) for pk, key in rows if not user_session_live(key)]
        after = rows[-1][0]


def purge_run(*, batch_size: int = 5000, dry_run: bool = False) -> PurgeReport:
    now = clock.now()
    report = PurgeReport(
        flows=flows_purge(now=now, batch_size=batch_size, dry_run=dry_run),
        sessions=sessions_purge(dry_run=dry_run),
        cache_entries=cache_entries_purge(dry_run=dry_run),
        mail_bodies=mail_bodies_purge(now=now, batch_size=batch_size, dry_run=dry_run),
        audit_events=audit_events_purge(now=now, batch_size=batch_size, dry_run=dry_run),
        login_records=login_records_purge(now=now, batch_size=batch_size, dry_run=dry_run),
        feed_events=feed_events_purge(
            now=now, days=settings.API_FEED_RETENTION_DAYS, batch_size=batch_size, dry_run=dry_run
        ),
        idempotency_keys=idempotency_records_purge(now=now, dry_run=dry_run),
    )
    logger.info(
        "purge",
        extra={
            "dry_run": dry_run,
            "flows": report.flows,
            "sessions": report.sessions,
            "cache_entries": report.cache_entries,
            "mail_bodies": report.mail_bodies,
            "audit_events": report.audit_events,
            "login_records": report.login_records,
            "feed_events": report.feed_events,
            "idempotency_keys": report.idempotency_keys,
        },
    )
    return report
