"""Reads of the accounts app: what the login, My Page and the staff admin look up. Nothing
here writes (docs/architecture.md, "Services and selectors")."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Q
from django.utils.crypto import salted_hmac

from portal.accounts.models import (
    LoginChallenge,
    LoginEvent,
    LoginThrottle,
    TrustedBrowser,
    UserSession,
)
from portal.core.clock import clock
from portal.core.origin import RequestOrigin
from portal.core.text import normalize_email
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail

OTP_MAIL_KIND = "login_otp"


def login_key(login_id: str) -> str:
    """The key that lockout counters and login events are filed under: an HMAC of the ID as
    typed (normalised), so an ID nobody owns is counted like a real one and is not stored."""
    return salted_hmac(
        "portal.accounts.login_key", normalize_email(login_id), algorithm="sha256"
    ).hexdigest()


@dataclass(frozen=True)
class LockStatus:
    locked_until: dt.datetime | None = None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def _lock_status_for_key(key: str, ip_key: str) -> LockStatus:
    until = (
        LoginThrottle.objects.filter(login_key=key, locked_until__gt=clock.now())
        .filter(
            Q(scope=LoginThrottle.Scope.ACCOUNT)
            | Q(scope=LoginThrottle.Scope.ACCOUNT_AND_IP, ip=ip_key)
        )
        .aggregate(until=Max("locked_until"))["until"]
    )
    return LockStatus(until)


def login_lock_status(login_id: str, origin: RequestOrigin) -> LockStatus:
    """Whether logins with this ID from this IP are refused now, and until when. Answers the
    same for IDs that exist and that don't."""
    return _lock_status_for_key(login_key(login_id), origin.ip_key)


def user_for_login(login_id: str):
    """The account of a login ID with its job seeker (e-mail addresses are stored normalised
    and unique), or None."""
    user_model = get_user_model()
    try:
        return user_model._default_manager.select_related("jobseeker").get(
            email=normalize_email(login_id)
        )
    except user_model.DoesNotExist:
        return None


def jobseeker_of(user) -> JobSeeker | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.jobseeker
    except JobSeeker.DoesNotExist:
        return None


def mypage_allowed(user) -> bool:
    """Whether this account may use the My Page: active, with an active job seeker whose
    registration is not closed."""
    if user is None or not user.is_active:
        return False
    jobseeker = jobseeker_of(user)
    return (
        jobseeker is not None
        and jobseeker.status == JobSeeker.Status.ACTIVE
        and jobseeker.closed_at is None
    )


def otp_mails_last_hour(user, *, now: dt.datetime | None = None) -> int:
    since = (now or clock.now()) - dt.timedelta(hours=1)
    return (
        OutboundMail.objects.filter(
            to=normalize_email(user.email), kind=OTP_MAIL_KIND, created_at__gt=since
        )
        .exclude(status=OutboundMail.Status.CAPPED)
        .count()
    )


def login_challenge_get(challenge_id) -> LoginChallenge | None:
    try:
        challenge_id = uuid.UUID(str(challenge_id))
    except ValueError:
        return None
    challenge = LoginChallenge.objects.select_related("user").filter(pk=challenge_id).first()
    return challenge if challenge is not None and challenge.is_open else None


def trusted_browser_list(user):
    return TrustedBrowser.objects.filter(user=user, expires_at__gt=clock.now()).order_by(
        "-created_at"
    )


def session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def user_session_live(session_key: str) -> bool:
    """Whether a tracked session still exists server-side (not logged out, expired, evicted)."""
    return session_store()().exists(session_key)


def login_history_list(user, *, limit: int | None = None):
    """The account's latest logins and failed attempts, newest first."""
    return list(
        LoginEvent.objects.filter(user=user).order_by("-created_at", "-id")[
            : limit or settings.LOGIN_HISTORY_SIZE
        ]
    )


def account_lock_until(user) -> dt.datetime | None:
    """The latest running lock of the account's login ID, from any IP, or None."""
    return LoginThrottle.objects.filter(
        login_key=login_key(user.email), locked_until__gt=clock.now()
    ).aggregate(until=Max("locked_until"))["until"]


@dataclass
class AccountStatus:
    has_account: bool
    is_active: bool
    locked_until: dt.datetime | None
    failures: int
    last_login: dt.datetime | None
    sessions: int
    trusted_browsers: int


def account_status_get(jobseeker: JobSeeker) -> AccountStatus:
    """The My Page account of a job seeker, as the staff admin shows it."""
    user = jobseeker.user
    if user is None:
        return AccountStatus(False, False, None, 0, None, 0, 0)
    now = clock.now()
    account_row = LoginThrottle.objects.filter(
        login_key=login_key(user.email), scope=LoginThrottle.Scope.ACCOUNT
    ).first()
    return AccountStatus(
        has_account=True,
        is_active=user.is_active,
        locked_until=account_lock_until(user),
        failures=account_row.failures if account_row else 0,
        last_login=user.last_login,
        sessions=sum(  # live ones: an ended session's row waits for the next purge
            1
            for key in UserSession.objects.filter(user=user).values_list("session_key", flat=True)
            if user_session_live(key)
        ),
        trusted_browsers=TrustedBrowser.objects.filter(user=user, expires_at__gt=now).count(),
    )


def mails_recent_list(email: str, *, limit: int = 10):
    """The latest mails to an address with their delivery status; never a body or a key."""
    return list(
        OutboundMail.objects.filter(to=normalize_email(email))
        .order_by("-created_at", "-id")
        .only(
            "created_at",
            "kind",
            "subject",
            "language",
            "status",
            "attempts",
            "sent_at",
            "last_error",
        )[:limit]
    )
