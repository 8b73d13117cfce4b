"""The account's tracked sessions, so they can be ended from elsewhere
(docs/architecture.md, "Sessions")."""

from __future__ import annotations

from portal.accounts.models import (
    UserSession,
)
from portal.accounts.selectors import (
    session_store,
)
from portal.core.clock import clock
from portal.core.origin import RequestOrigin

# The session key under which the idle-timeout middleware keeps the last activity (epoch s).
LAST_ACTIVITY_SESSION_KEY = "accounts_last_activity"


def user_session_track(user, session_key: str, *, origin: RequestOrigin) -> None:
    """Tracks a logged-in session, so that it can be ended from elsewhere (user_sessions_end).
    Sessions that end on their own (expiry, eviction) are forgotten by `purge`."""
    row = {
        "user": user,
        "created_at": clock.now(),
        "ip": origin.ip,
        "user_agent": origin.user_agent,
    }
    # auth_login gives every login a new session key, so this is an insert; a repeated key
    # takes the row over (one upsert statement, not get-or-create's savepoints).
    UserSession.objects.bulk_create(
        [UserSession(session_key=session_key, **row)],
        update_conflicts=True,
        unique_fields=["session_key"],
        update_fields=list(row),
    )


def user_session_forget(session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def user_session_rekey(old_key: str | None, new_key: str | None) -> None:
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def user_sessions_end(user, *, keep_session_key: str | None = None) -> int:
    """Ends the account's server-side sessions (database or cache), except the one to keep."""
    store = session_store()
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)
