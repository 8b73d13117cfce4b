"""The login lockout: failure counters per (login ID, IP) and per login ID, filed under an
HMAC of the ID (docs/architecture.md, "Login")."""

from __future__ import annotations

import datetime as dt
import functools
import operator

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, When
from django.db.models.functions import Greatest

from portal.accounts.models import (
    LoginEvent,
    LoginThrottle,
)
from portal.accounts.selectors import (
    LockStatus,
    login_key,
)
from portal.audit.feed import feed_event_record
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin


def login_event_record(
    outcome: str,
    *,
    key: str,
    user=None,
    origin: RequestOrigin = NO_REQUEST,
    channel: str = LoginEvent.Channel.MYPAGE,
) -> LoginEvent:
    return LoginEvent.objects.create(
        created_at=clock.now(),
        user=user,
        login_key=key,
        outcome=outcome,
        channel=channel,
        ip=origin.ip,
        user_agent=origin.user_agent,
    )


def _failure_counters(ip_key: str) -> tuple[tuple[str, str, int], ...]:
    """(scope, IP column, threshold) of the two counters a login ID has: this IP's, and the
    account-wide one, in _LOCK_ORDER."""
    return (
        (LoginThrottle.Scope.ACCOUNT_AND_IP, ip_key, settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP),
        (LoginThrottle.Scope.ACCOUNT, "", settings.LOGIN_FAILURES_PER_ACCOUNT),
    )


def _counter_rows(key: str, ip_key: str) -> Q:
    """The two counter rows of this ID (see _failure_counters)."""
    return Q(login_key=key) & functools.reduce(
        operator.or_, (Q(scope=scope, ip=row_ip) for scope, row_ip, _ in _failure_counters(ip_key))
    )


# The order in which counter rows are always locked: the (ID, IP) rows, then the account-wide
# row. Two logins that wait for each other's rows in opposite orders would deadlock.
_LOCK_ORDER = (Case(When(scope=LoginThrottle.Scope.ACCOUNT, then=1), default=0), "pk")


def _counters_lock(rows: Q) -> list[LoginThrottle]:
    """The counter rows matching `rows`, locked in _LOCK_ORDER. Call inside a transaction."""
    return list(LoginThrottle.objects.select_for_update().filter(rows).order_by(*_LOCK_ORDER))


def login_failure_count(key: str, origin: RequestOrigin) -> tuple[LockStatus, bool]:
    """Adds one failure to the (ID, IP) counter and to the ID's account-wide counter; a counter
    reaching its threshold locks for settings.LOGIN_LOCK_MINUTES. Returns the lock in force
    afterwards and whether one was already in force before (then nothing was counted)."""
    now = clock.now()
    window_start = now - dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    lock_for = dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    counters = _failure_counters(origin.ip_key)
    with transaction.atomic():
        # Both counters are made to exist and locked by one INSERT … ON CONFLICT DO UPDATE, row
        # by row in _LOCK_ORDER: a new row is locked by its insert, an existing one by a no-op
        # update, and a row deleted meanwhile (a login's reset, the purge) is inserted again.
        # Inserting with ignore_conflicts and then locking would hold a new row while waiting
        # for an existing one, out of order.
        LoginThrottle.objects.bulk_create(
            [LoginThrottle(login_key=key, scope=scope, ip=row_ip) for scope, row_ip, _ in counters],
            update_conflicts=True,
            unique_fields=["login_key", "scope", "ip"],
            update_fields=["login_key"],
        )
        locked = {
            row.scope: row
            for row in LoginThrottle.objects.filter(_counter_rows(key, origin.ip_key))
        }
        rows = []
        for scope, _row_ip, threshold in counters:
            row = locked[scope]
            if row.locked_until is not None and row.locked_until <= now:
                row.failures, row.locked_until = 0, None  # a lock that ran out starts afresh
            elif row.last_failure_at is not None and row.last_failure_at < window_start:
                row.failures = 0  # old failures are forgotten
            rows.append((row, threshold))
        # An attempt on a locked ID checks no password, so it counts nowhere.
        already_locked = any(row.locked_until is not None for row, _ in rows)
        for row, threshold in rows:
            if not already_locked:
                row.failures += 1
                row.last_failure_at = now
                if row.failures >= threshold:
                    row.locked_until = now + lock_for
        LoginThrottle.objects.bulk_update(
            [row for row, _ in rows], ["failures", "last_failure_at", "locked_until"]
        )
        locks = [row.locked_until for row, _ in rows if row.locked_until is not None]
        until = max(locks) if locks else None
    return LockStatus(until), already_locked


def login_failure_refund(key: str, origin: RequestOrigin) -> None:
    """Takes back an attempt counted up front that turned out right (see
    login_password_attempt); a lock that attempt caused is lifted with it. The update reads
    `failures` before the decrement in both expressions."""
    with transaction.atomic():
        rows = _counters_lock(_counter_rows(key, origin.ip_key))
        LoginThrottle.objects.filter(pk__in=[row.pk for row in rows]).update(
            failures=Greatest(F("failures") - 1, 0),
            locked_until=Case(
                *(
                    When(scope=scope, failures__lte=threshold, then=None)
                    for scope, _row_ip, threshold in _failure_counters(origin.ip_key)
                ),
                default=F("locked_until"),
            ),
        )


def login_failure_record(
    login_id: str,
    *,
    origin: RequestOrigin,
    user=None,
    outcome: str = LoginEvent.Outcome.PASSWORD_FAILURE,
    channel: str = LoginEvent.Channel.MYPAGE,
) -> LockStatus:
    """Records one failed attempt for this ID (existing or not) from this IP; returns the lock
    it caused, if any."""
    key = login_key(login_id)
    with transaction.atomic():
        status, already = login_failure_count(key, origin)
        login_event_record(outcome, key=key, user=user, origin=origin, channel=channel)
        if status.locked and not already and user is not None:
            feed_event_record("account_locked", user=user)
    return status


def login_failures_reset(key: str, origin: RequestOrigin) -> None:
    """Deletes the (ID, IP) counter and the ID's account-wide counter (a successful login)."""
    with transaction.atomic():
        rows = _counters_lock(_counter_rows(key, origin.ip_key))
        LoginThrottle.objects.filter(pk__in=[row.pk for row in rows]).delete()


def login_lock_clear(
    user,
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
    reason: str = "",
) -> int:
    """Clears every lockout counter of the account's login ID, from every IP. Called by the
    staff unlock and by the forgotten-password reset. Returns the number of locks lifted."""
    key = login_key(user.email)
    now = clock.now()
    with transaction.atomic():
        rows = _counters_lock(Q(login_key=key))
        locks = sum(1 for row in rows if row.locked_until is not None and row.locked_until > now)
        LoginThrottle.objects.filter(pk__in=[row.pk for row in rows]).delete()
        audit_event_record(
            "account.lock_cleared",
            actor=actor,
            actor_label=actor_label or ("" if actor is not None else "system"),
            target_type="user",
            target_id=str(user.pk),
            origin=origin,
            detail={"reason": reason, "locks": locks},
        )
        if locks:
            feed_event_record("account_unlocked", user=user)
    return locks


def login_locked_event_record(
    key, lock: LockStatus, *, user, origin: RequestOrigin, channel
) -> None:
    """One "locked" event per ID, IP and lock: attempts on a locked ID cannot push the owner's
    real logins out of the login history."""
    since = lock.locked_until - dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    if not LoginEvent.objects.filter(
        login_key=key, ip=origin.ip, outcome=LoginEvent.Outcome.LOCKED, created_at__gte=since
    ).exists():
        login_event_record(
            LoginEvent.Outcome.LOCKED,
            key=key,
            user=user,
            origin=origin,
            channel=channel,
        )
