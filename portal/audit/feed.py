"""The change feed of the integration API: job seekers' account opened, locked, unlocked,
address changed, closed, reopened, mail failed. Each site where such a change happens calls
`feed_event_record` once, inside the change's own transaction, so the event commits with it.

Ordering and "no event skipped". Ids come from a sequence in the order rows are inserted, not
the order transactions commit: a reader paging by id alone could pass an id whose transaction
has not committed yet and never see it. On PostgreSQL each event therefore records the id of
its transaction (`pg_current_xact_id()`), the feed is ordered by (txid, id), and a reader is
shown only events whose transaction is older than the oldest transaction still running when
its snapshot was taken (`pg_snapshot_xmin(pg_current_snapshot())`, refined to ignore the
transactions of other databases in the cluster: see SnapshotHorizon). Every such transaction
has finished, so every event at or before the last one shown is visible and will never change; any
event that becomes visible later belongs to a transaction at or after that horizon, so it
sorts after everything already shown. A cursor is the (txid, id) of the last event read.

On SQLite a write transaction holds the database's single write lock from its start to its
commit (the project's transactions are IMMEDIATE), so ids are handed out in commit order;
txid stays 0 and the feed is ordered by id alone.

This module imports no app above it: the job seeker's number is looked up through the app
registry, so accounts, registration and mail can call it without an import circle."""

import datetime as dt

from django.apps import apps
from django.db import connection
from django.db.models import BigIntegerField, Func

from portal.audit.models import FeedEvent
from portal.core.clock import clock


class CurrentTxid(Func):
    """PostgreSQL: this transaction's id (assigning one if it has none yet)."""

    template = "pg_current_xact_id()::text::bigint"
    output_field = BigIntegerField()


class SnapshotHorizon(Func):
    """PostgreSQL: the oldest transaction that was still running when this statement's
    snapshot was taken and may have written to this database; without one, the snapshot's
    xmax. Every transaction with a smaller id has finished, or runs in another database of
    the cluster (pg_stat_activity names its database; one that is not named there any more is
    counted, which at worst holds the feed back until the next read)."""

    template = """(SELECT COALESCE(
        (SELECT min(x::text::bigint)
         FROM pg_snapshot_xip(pg_current_snapshot()) AS x
         WHERE NOT EXISTS (
             SELECT 1 FROM pg_stat_activity a
             WHERE a.backend_xid::text::bigint = (x::text::bigint & 4294967295)
               AND a.datname <> current_database())),
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint))"""
    output_field = BigIntegerField()


def _numbers(*, number=None, user=None, email=None) -> list[str]:
    if number is not None:
        return [number]
    jobseekers = apps.get_model("jobseekers", "JobSeeker").objects
    if user is not None:
        return list(jobseekers.filter(user_id=user.pk).values_list("number", flat=True))
    if email:
        return list(jobseekers.filter(email__iexact=email).values_list("number", flat=True))
    return []


def feed_event_record(type: str, *, number=None, user=None, email=None) -> None:
    """Records `type` for the job seeker named by number, account or address (nothing when
    none matches: a staff account, an address that is not in the register)."""
    now = clock.now()
    for value in _numbers(number=number, user=user, email=email):
        FeedEvent.objects.create(
            number=value,
            type=type,
            created_at=now,
            txid=CurrentTxid() if connection.vendor == "postgresql" else 0,
        )


class CursorExpired(Exception):
    """The cursor points before the feed's retention: events after it may be gone."""


def parse_cursor(value: str) -> tuple[int, int] | None:
    txid, dot, event_id = value.partition(".")
    if not dot or not (txid.isascii() and txid.isdigit() and event_id.isascii()):
        return None
    if not event_id.isdigit() or len(txid) > 19 or len(event_id) > 19:
        return None
    return int(txid), int(event_id)


def cursor_of(event: FeedEvent) -> str:
    return f"{event.txid}.{event.id}"


def feed_events_after(cursor: tuple[int, int] | None, *, limit: int) -> list[FeedEvent]:
    """Up to `limit` events after `cursor` (None: from the oldest kept), in feed order. Raises
    CursorExpired for a cursor whose event the retention has removed."""
    events = FeedEvent.objects.all()
    if cursor is not None:
        txid, event_id = cursor
        if not FeedEvent.objects.filter(id=event_id, txid=txid).exists():
            raise CursorExpired
        events = events.filter(txid__gte=txid).exclude(txid=txid, id__lte=event_id)
    if connection.vendor == "postgresql":
        events = events.filter(txid__lt=SnapshotHorizon())
    return list(events.order_by("txid", "id")[:limit])


def feed_events_purge(
    *, now: dt.datetime, days: int, batch_size: int = 5000, dry_run: bool = False
) -> int:
    """Deletes events older than `days`; returns how many."""
    cutoff = now - dt.timedelta(days=days)
    if dry_run:
        return FeedEvent.objects.filter(created_at__lt=cutoff).count()
    removed = 0
    while True:
        ids = list(
            FeedEvent.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return removed
        removed += FeedEvent.objects.filter(id__in=ids).delete()[0]
