"""Trusted browsers: a signed cookie that lets a browser skip the one-time password."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.accounts.models import (
    TrustedBrowser,
)
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin

_TRUSTED_SALT = "portal.accounts.trusted_browser"


def _password_fingerprint(user) -> str:
    # Bound to the password hash too, so any password change (even one that forgot to call
    # trusted_browser_revoke_all) makes existing cookies worthless.
    return salted_hmac(_TRUSTED_SALT, user.password, algorithm="sha256").hexdigest()[:32]


def trusted_browser_create(
    user, *, origin: RequestOrigin = NO_REQUEST
) -> tuple[TrustedBrowser, str]:
    """Registers this browser for the account; returns the row and the signed cookie value."""
    now = clock.now()
    browser = TrustedBrowser.objects.create(
        user=user,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.TRUSTED_BROWSER_DAYS),
        last_used_at=now,
        ip=origin.ip,
        user_agent=origin.user_agent,
    )
    value = signing.dumps(
        {"b": str(browser.pk), "u": user.pk, "h": _password_fingerprint(user)},
        salt=_TRUSTED_SALT,
    )
    return browser, value


def trusted_browser_id(cookie_value: str | None) -> uuid.UUID | None:
    """The browser row a cookie names, if its signature holds (not whether it is valid)."""
    if not cookie_value:
        return None
    try:
        data = signing.loads(cookie_value, salt=_TRUSTED_SALT)
        return uuid.UUID(str(data["b"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def trusted_browser_use(user, cookie_value: str | None) -> TrustedBrowser | None:
    """The trusted-browser row if this cookie lets this account skip the one-time password;
    marks it used now (a write: the "last used" My Page shows)."""
    if not cookie_value:
        return None
    try:
        data = signing.loads(cookie_value, salt=_TRUSTED_SALT)
        browser_id = uuid.UUID(str(data["b"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if data.get("u") != user.pk or not constant_time_compare(
        str(data.get("h", "")), _password_fingerprint(user)
    ):
        return None
    now = clock.now()
    browser = TrustedBrowser.objects.filter(pk=browser_id, user=user, expires_at__gt=now).first()
    if browser is not None:
        TrustedBrowser.objects.filter(pk=browser.pk).update(last_used_at=now)
    return browser


def trusted_browser_revoke(user, browser_id, *, origin: RequestOrigin = NO_REQUEST) -> bool:
    deleted, _rows = TrustedBrowser.objects.filter(user=user, pk=browser_id).delete()
    if deleted:
        audit_event_record(
            "account.trusted_browser_revoked",
            actor=user,
            target_type="user",
            target_id=str(user.pk),
            origin=origin,
            detail={"count": deleted},
        )
    return bool(deleted)


def trusted_browser_revoke_all(
    user, *, actor=None, origin: RequestOrigin = NO_REQUEST, reason: str = ""
) -> int:
    """Every browser of the account asks for the one-time password again. Called on a password
    change or reset, an e-mail change at the counter, and from My Page."""
    deleted, _rows = TrustedBrowser.objects.filter(user=user).delete()
    if deleted:
        audit_event_record(
            "account.trusted_browsers_revoked",
            actor=actor,
            actor_label="" if actor is not None else "system",
            target_type="user",
            target_id=str(user.pk),
            origin=origin,
            detail={"count": deleted, "reason": reason},
        )
    return deleted
