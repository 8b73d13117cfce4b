"""Reads of passkeys (docs/architecture.md, "Layers")."""

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext as _

from portal.accounts.models import UserSession
from portal.accounts.user_agents import browser_label
from portal.core.clock import clock
from portal.passkeys.models import Passkey


def passkey_list(user):
    return Passkey.objects.filter(user=user).order_by("created_at", "id")


def passkey_get(user, passkey_id) -> Passkey | None:
    return Passkey.objects.filter(user=user, pk=passkey_id).first()


def passkey_count(user) -> int:
    return Passkey.objects.filter(user=user).count()


def passkey_recent_login(user, session_key: str | None, reauth_at: float | None) -> bool:
    """Whether this session logged in (with a password and one-time password, or a passkey)
    or re-authenticated within PASSKEY_RECENT_LOGIN_MINUTES."""
    since = clock.now() - dt.timedelta(minutes=settings.PASSKEY_RECENT_LOGIN_MINUTES)
    if reauth_at is not None and float(reauth_at) >= since.timestamp():
        return True
    return bool(
        session_key
        and UserSession.objects.filter(
            user=user, session_key=session_key, created_at__gte=since
        ).exists()
    )


def passkey_default_name(user_agent: str) -> str:
    return _("%(browser)sのパスキー") % {"browser": browser_label(user_agent)}
