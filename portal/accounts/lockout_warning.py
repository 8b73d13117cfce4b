"""How near an ID is to a lock, for the warning on the login screen before the last try."""

import datetime as dt

from django.conf import settings
from django.db.models import Q

from portal.accounts.models import LoginThrottle
from portal.accounts.selectors import login_key
from portal.core.clock import clock
from portal.core.origin import RequestOrigin


def login_tries_left(login_id: str, origin: RequestOrigin) -> int:
    """Failed tries left before this ID is locked from this IP: the fewer of the (ID, IP)
    counter's and the account-wide counter's. Read from the counters alone, which are kept
    for any ID typed, so it answers alike for IDs that exist and that don't. A counter whose
    failures are past the window or whose lock ran out counts from zero, as the next failure
    will (see services.lockout.login_failure_count)."""
    now = clock.now()
    window_start = now - dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    rows = {
        row.scope: row
        for row in LoginThrottle.objects.filter(login_key=login_key(login_id)).filter(
            Q(scope=LoginThrottle.Scope.ACCOUNT_AND_IP, ip=origin.ip_key)
            | Q(scope=LoginThrottle.Scope.ACCOUNT, ip="")
        )
    }
    left = []
    for scope, threshold in (
        (LoginThrottle.Scope.ACCOUNT_AND_IP, settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP),
        (LoginThrottle.Scope.ACCOUNT, settings.LOGIN_FAILURES_PER_ACCOUNT),
    ):
        row = rows.get(scope)
        failures = 0
        if row is not None:
            lock_over = row.locked_until is not None and row.locked_until <= now
            forgotten = row.last_failure_at is not None and row.last_failure_at < window_start
            if not (lock_over or forgotten):
                failures = row.failures
        left.append(max(0, threshold - failures))
    return min(left)
