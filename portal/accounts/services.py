"""Login and My Page: the lockout, the login itself, the one-time password step, trusted
browsers, the account's sessions, the password change and the counter's e-mail change.

Every deadline is a stored timestamp compared with `clock.now()`. Every state change is one
database transaction; secrets (passwords, one-time passwords) are never stored in clear, never
logged and never written to the audit log."""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Q, When
from django.db.models.functions import Greatest
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from portal.accounts.models import (
    LoginChallenge,
    LoginEvent,
    LoginThrottle,
    TrustedBrowser,
    UserSession,
)
from portal.audit.feed import feed_event_record
from portal.audit.services import audit_event_record
from portal.core.client_ip import client_ip
from portal.core.clock import clock
from portal.core.ratelimit import rate_limit_exceeded
from portal.core.text import normalize_email
from portal.jobseekers.language import jobseeker_language_set, jobseeker_mail_language
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue

OTP_MAIL_KIND = "login_otp"
# The session key under which the idle-timeout middleware keeps the last activity (epoch s).
LAST_ACTIVITY_SESSION_KEY = "accounts_last_activity"
_USER_AGENT_MAX = 300


def request_user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:_USER_AGENT_MAX]


def _ip_or_none(ip: str | None) -> str | None:
    return ip or None


# --- Lockout ---------------------------------------------------------------------------------


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


def _lock_status_for_key(key: str, ip: str) -> LockStatus:
    until = (
        LoginThrottle.objects.filter(login_key=key, locked_until__gt=clock.now())
        .filter(
            Q(scope=LoginThrottle.Scope.ACCOUNT)
            | Q(scope=LoginThrottle.Scope.ACCOUNT_AND_IP, ip=ip or "")
        )
        .aggregate(until=Max("locked_until"))["until"]
    )
    return LockStatus(until)


def login_lock_status(login_id: str, ip: str | None) -> LockStatus:
    """Whether logins with this ID from this IP are refused now, and until when. Answers the
    same for IDs that exist and that don't."""
    return _lock_status_for_key(login_key(login_id), ip or "")


def login_event_record(
    outcome: str,
    *,
    key: str,
    user=None,
    ip: str | None = None,
    user_agent: str = "",
    channel: str = LoginEvent.Channel.MYPAGE,
) -> LoginEvent:
    return LoginEvent.objects.create(
        created_at=clock.now(),
        user=user,
        login_key=key,
        outcome=outcome,
        channel=channel,
        ip=_ip_or_none(ip),
        user_agent=(user_agent or "")[:_USER_AGENT_MAX],
    )


def _failure_counters(ip: str) -> tuple[tuple[str, str, int], ...]:
    """(scope, IP column, threshold) of the two counters a login ID has: this IP's, and the
    account-wide one, in _LOCK_ORDER."""
    return (
        (LoginThrottle.Scope.ACCOUNT_AND_IP, ip, settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP),
        (LoginThrottle.Scope.ACCOUNT, "", settings.LOGIN_FAILURES_PER_ACCOUNT),
    )


def _counter_rows(key: str, ip: str) -> Q:
    """The two counter rows of this ID (see _failure_counters)."""
    return Q(login_key=key) & functools.reduce(
        operator.or_, (Q(scope=scope, ip=row_ip) for scope, row_ip, _ in _failure_counters(ip))
    )


# The order in which counter rows are always locked: the (ID, IP) rows, then the account-wide
# row. Two logins that wait for each other's rows in opposite orders would deadlock.
_LOCK_ORDER = (Case(When(scope=LoginThrottle.Scope.ACCOUNT, then=1), default=0), "pk")


def _counters_lock(rows: Q) -> list[LoginThrottle]:
    """The counter rows matching `rows`, locked in _LOCK_ORDER. Call inside a transaction."""
    return list(LoginThrottle.objects.select_for_update().filter(rows).order_by(*_LOCK_ORDER))


def _failure_count(key: str, ip: str) -> tuple[LockStatus, bool]:
    """Adds one failure to the (ID, IP) counter and to the ID's account-wide counter; a counter
    reaching its threshold locks for settings.LOGIN_LOCK_MINUTES. Returns the lock in force
    afterwards and whether one was already in force before (then nothing was counted)."""
    now = clock.now()
    window_start = now - dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    lock_for = dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    counters = _failure_counters(ip)
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
        locked = {row.scope: row for row in LoginThrottle.objects.filter(_counter_rows(key, ip))}
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


def _failure_refund(key: str, ip: str) -> None:
    """Takes back an attempt counted up front that turned out right (see
    login_password_attempt); a lock that attempt caused is lifted with it. The update reads
    `failures` before the decrement in both expressions."""
    with transaction.atomic():
        rows = _counters_lock(_counter_rows(key, ip))
        LoginThrottle.objects.filter(pk__in=[row.pk for row in rows]).update(
            failures=Greatest(F("failures") - 1, 0),
            locked_until=Case(
                *(
                    When(scope=scope, failures__lte=threshold, then=None)
                    for scope, _row_ip, threshold in _failure_counters(ip)
                ),
                default=F("locked_until"),
            ),
        )


def login_failure_record(
    login_id: str,
    *,
    ip: str | None,
    user=None,
    user_agent: str = "",
    outcome: str = LoginEvent.Outcome.PASSWORD_FAILURE,
    channel: str = LoginEvent.Channel.MYPAGE,
) -> LockStatus:
    """Records one failed attempt for this ID (existing or not) from this IP; returns the lock
    it caused, if any."""
    key = login_key(login_id)
    with transaction.atomic():
        status, already = _failure_count(key, ip or "")
        login_event_record(
            outcome, key=key, user=user, ip=ip, user_agent=user_agent, channel=channel
        )
        if status.locked and not already and user is not None:
            feed_event_record("account_locked", user=user)
    return status


def _throttle_reset(key: str, ip: str) -> None:
    """Deletes the (ID, IP) counter and the ID's account-wide counter (a successful login)."""
    with transaction.atomic():
        rows = _counters_lock(_counter_rows(key, ip or ""))
        LoginThrottle.objects.filter(pk__in=[row.pk for row in rows]).delete()


def login_lock_clear(
    user, *, actor=None, actor_label: str = "", ip: str | None = None, reason: str = ""
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
            ip=ip,
            detail={"reason": reason, "locks": locks},
        )
        if locks:
            feed_event_record("account_unlocked", user=user)
    return locks


# --- Password check with the same work for every ID -------------------------------------------

_dummy_encoded: str | None = None


def _password_check_dummy(password: str) -> None:
    """One check against a dummy hash made by the current hasher with its current parameters,
    so an unknown or pending ID costs what a real one costs."""
    global _dummy_encoded
    hasher = get_hasher()
    encoded = _dummy_encoded
    if (
        encoded is None
        or not encoded.startswith(hasher.algorithm + "$")
        or hasher.must_update(encoded)
    ):
        encoded = _dummy_encoded = make_password(secrets.token_urlsafe(24))
    check_password(password, encoded)


def password_dummy_hash_prepare() -> None:
    """Computes the dummy hash ahead of the first login (the first computation is an encode)."""
    _password_check_dummy(secrets.token_urlsafe(8))


def _password_matches(user, password: str) -> bool:
    if user is None or not user.has_usable_password():
        _password_check_dummy(password)
        return False
    if get_hasher().must_update(user.password):
        # A hash made with older, cheaper parameters would answer faster than the dummy and
        # tell the account apart: spend the dummy's cost as well (the hash is upgraded on the
        # next successful login).
        _password_check_dummy(password)
    return user.check_password(password)


class PasswordAttempt(StrEnum):
    LOCKED = "locked"
    WRONG = "wrong"
    RIGHT = "right"


def login_password_attempt(
    login_id: str,
    password: str,
    *,
    user,
    ip: str | None,
    user_agent: str = "",
    channel: str = LoginEvent.Channel.MYPAGE,
    allowed=lambda user: True,
    refund: bool = True,
) -> tuple[PasswordAttempt, LockStatus]:
    """One password attempt for an ID (existing or not). The attempt is counted before the
    password is checked and taken back when it is right, so parallel guesses can never run
    more checks than the lockout threshold allows. A locked ID costs no check at all.

    `refund=False`: a right attempt is left counted, for a caller that logs in at once
    (login_complete clears the counters) or else takes it back itself."""
    key = login_key(login_id)
    lock, already_locked = _failure_count(key, ip or "")
    if already_locked:
        _locked_event_record(key, lock, user=user, ip=ip, user_agent=user_agent, channel=channel)
        return PasswordAttempt.LOCKED, lock
    if _password_matches(user, password) and allowed(user):
        if refund:
            _failure_refund(key, ip or "")
        return PasswordAttempt.RIGHT, LockStatus()
    login_event_record(
        LoginEvent.Outcome.PASSWORD_FAILURE,
        key=key,
        user=user,
        ip=ip,
        user_agent=user_agent,
        channel=channel,
    )
    if lock.locked and user is not None:
        feed_event_record("account_locked", user=user)
    return PasswordAttempt.WRONG, lock


def _locked_event_record(key, lock: LockStatus, *, user, ip, user_agent, channel) -> None:
    """One "locked" event per ID, IP and lock: attempts on a locked ID cannot push the owner's
    real logins out of the login history."""
    since = lock.locked_until - dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    if not LoginEvent.objects.filter(
        login_key=key, ip=_ip_or_none(ip), outcome=LoginEvent.Outcome.LOCKED, created_at__gte=since
    ).exists():
        login_event_record(
            LoginEvent.Outcome.LOCKED,
            key=key,
            user=user,
            ip=ip,
            user_agent=user_agent,
            channel=channel,
        )


def _user_for_login(login_id: str):
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
    """Whether this account may use the My Page: active, with an active job seeker."""
    if user is None or not user.is_active:
        return False
    jobseeker = jobseeker_of(user)
    return (
        jobseeker is not None
        and jobseeker.status == JobSeeker.Status.ACTIVE
        and jobseeker.closed_at is None
    )


# --- Login ------------------------------------------------------------------------------------


class LoginStatus(StrEnum):
    OK = "ok"
    OTP_REQUIRED = "otp_required"
    FAILED = "failed"
    LOCKED = "locked"
    OTP_UNAVAILABLE = "otp_unavailable"
    RATE_LIMITED = "rate_limited"


@dataclass
class LoginResult:
    status: LoginStatus
    user: object = None
    challenge: LoginChallenge | None = None
    locked_until: dt.datetime | None = None


def login_credentials_check(
    login_id: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str = "",
    trusted_cookie: str | None = None,
) -> LoginResult:
    """The first login step: ID and password. Unknown, pending and suspended IDs get the same
    answer and the same single password-hash check as a wrong password. On OK the caller
    logs the account in with login_complete, which also clears the failure counters."""
    if rate_limit_exceeded(
        "login-ip", ip or "", limit=settings.LOGIN_ATTEMPTS_PER_IP_PER_HOUR, window_seconds=3600
    ):
        return LoginResult(LoginStatus.RATE_LIMITED)
    user = _user_for_login(login_id)
    attempt, lock = login_password_attempt(
        login_id,
        password,
        user=user,
        ip=ip,
        user_agent=user_agent,
        allowed=mypage_allowed,
        refund=False,
    )
    if attempt != PasswordAttempt.RIGHT:
        if lock.locked:
            return LoginResult(LoginStatus.LOCKED, locked_until=lock.locked_until)
        return LoginResult(LoginStatus.FAILED)
    if not settings.LOGIN_OTP_ENABLED or trusted_browser_check(user, trusted_cookie):
        # The caller logs in now: login_complete clears the counters, this attempt with them.
        return LoginResult(LoginStatus.OK, user=user)
    _failure_refund(login_key(login_id), ip or "")
    try:
        challenge = login_challenge_start(user)
    except OtpMailCapReached:
        return LoginResult(LoginStatus.OTP_UNAVAILABLE, user=user)
    return LoginResult(LoginStatus.OTP_REQUIRED, user=user, challenge=challenge)


def login_complete(
    request,
    user,
    *,
    channel: str = LoginEvent.Channel.MYPAGE,
    outcome: str = LoginEvent.Outcome.SUCCESS,
) -> None:
    """Logs the account in on this request: a new session key, the failure counters of this
    ID and IP cleared, a login event (`outcome` tells a passkey login apart), and the session
    tracked for later ending."""
    ip = client_ip(request)
    user_agent = request_user_agent(request)
    key = login_key(user.email)
    with transaction.atomic():
        _throttle_reset(key, ip)
        login_event_record(
            outcome,
            key=key,
            user=user,
            ip=ip,
            user_agent=user_agent,
            channel=channel,
        )
        # django.contrib.auth.login cycles the session key (or starts a fresh session).
        auth_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        # The session was written under its new key by the cycle; the middleware writes it
        # once more at the end of the request, with this.
        request.session[LAST_ACTIVITY_SESSION_KEY] = clock.now().timestamp()
        user_session_track(user, request.session.session_key, ip=ip, user_agent=user_agent)
        # Signing in proves the person: the page's language becomes their own.
        jobseeker = jobseeker_of(user)
        if jobseeker is not None:
            jobseeker_language_set(jobseeker, getattr(request, "LANGUAGE_CODE", None))


# --- One-time password -------------------------------------------------------------------------


class OtpMailCapReached(Exception):
    """settings.LOGIN_OTP_MAILS_PER_HOUR one-time-password mails went out in the last hour."""


class OtpResendTooSoon(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class ChallengeEnded(Exception):
    pass


class OtpOutcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    LOCKED = "locked"
    ENDED = "ended"


@dataclass
class OtpResult:
    outcome: OtpOutcome
    user: object = None
    tries_left: int = 0
    locked_until: dt.datetime | None = None


def _otp_hash(challenge_id, code: str) -> str:
    return salted_hmac(
        "portal.accounts.login_otp", f"{challenge_id}:{code}", algorithm="sha256"
    ).hexdigest()


def _otp_new_code() -> str:
    digits = settings.LOGIN_OTP_DIGITS
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def otp_mails_last_hour(user, *, now: dt.datetime | None = None) -> int:
    since = (now or clock.now()) - dt.timedelta(hours=1)
    return (
        OutboundMail.objects.filter(
            to=normalize_email(user.email), kind=OTP_MAIL_KIND, created_at__gt=since
        )
        .exclude(status=OutboundMail.Status.CAPPED)
        .count()
    )


def _otp_send(challenge: LoginChallenge, user, now: dt.datetime) -> None:
    """Puts a new code on the challenge (the previous one stops working) and queues its mail.
    Call inside a transaction: a refused mail rolls the change back."""
    if otp_mails_last_hour(user, now=now) >= settings.LOGIN_OTP_MAILS_PER_HOUR:
        raise OtpMailCapReached
    code = _otp_new_code()
    minutes = settings.LOGIN_OTP_LIFETIME_MINUTES
    challenge.code_hash = _otp_hash(challenge.pk, code)
    challenge.sent_at = now
    challenge.expires_at = now + dt.timedelta(minutes=minutes)
    jobseeker = jobseeker_of(user)
    mail = mail_queue(
        to=user.email,
        kind=OTP_MAIL_KIND,
        context={
            "name": jobseeker.name if jobseeker else "",
            "staff": jobseeker is None and user.is_staff,
            "minutes": minutes,
            "expires_at": timezone.localtime(challenge.expires_at),
        },
        secret=code,
        # Only a login page (or its resend) asks for this mail: the request's language.
        language=translation.get_language(),
    )
    if mail.status == OutboundMail.Status.CAPPED:
        raise OtpMailCapReached


def login_challenge_start(user) -> LoginChallenge:
    """Starts the one-time-password step for an account whose password was just accepted."""
    now = clock.now()
    with transaction.atomic():
        challenge = LoginChallenge(id=uuid.uuid4(), user=user, created_at=now)
        _otp_send(challenge, user, now)
        challenge.save()
    return challenge


def login_challenge_get(challenge_id) -> LoginChallenge | None:
    try:
        challenge_id = uuid.UUID(str(challenge_id))
    except ValueError:
        return None
    challenge = LoginChallenge.objects.select_related("user").filter(pk=challenge_id).first()
    return challenge if challenge is not None and challenge.is_open else None


def _challenge_end(challenge: LoginChallenge, reason: str, now: dt.datetime) -> None:
    challenge.ended_at = now
    challenge.end_reason = reason
    challenge.save(update_fields=["ended_at", "end_reason", "wrong_tries"])


def login_challenge_resend(challenge_id, *, allowed=mypage_allowed) -> LoginChallenge:
    """A new code for the same challenge, after the cool-down and within the hourly cap. The
    count of wrong tries is kept."""
    now = clock.now()
    with transaction.atomic():
        challenge = LoginChallenge.objects.select_for_update().filter(pk=challenge_id).first()
        if challenge is None or not challenge.is_open or not allowed(challenge.user):
            raise ChallengeEnded
        ready_at = challenge.sent_at + dt.timedelta(
            seconds=settings.LOGIN_OTP_RESEND_COOLDOWN_SECONDS
        )
        if now < ready_at:
            raise OtpResendTooSoon(math.ceil((ready_at - now).total_seconds()))
        _otp_send(challenge, challenge.user, now)
        challenge.resends += 1
        challenge.save(update_fields=["code_hash", "sent_at", "expires_at", "resends"])
    return challenge


def login_challenge_verify(
    challenge_id,
    code: str,
    *,
    ip: str | None,
    user_agent: str = "",
    allowed=mypage_allowed,
    channel: str = LoginEvent.Channel.MYPAGE,
) -> OtpResult:
    """Checks a one-time password. A right code works once; an expired one is refused without
    counting; each wrong one counts toward the account's lockout, and the last allowed wrong
    one ends the attempt."""
    now = clock.now()
    with transaction.atomic():
        challenge = (
            LoginChallenge.objects.select_for_update()
            .select_related("user")
            .filter(pk=challenge_id)
            .first()
        )
        if challenge is None or not challenge.is_open:
            return OtpResult(OtpOutcome.ENDED)
        user = challenge.user
        if not allowed(user):
            _challenge_end(challenge, "account_unavailable", now)
            return OtpResult(OtpOutcome.ENDED)
        lock = login_lock_status(user.email, ip)
        if lock.locked:
            _challenge_end(challenge, "locked", now)
            return OtpResult(OtpOutcome.LOCKED, locked_until=lock.locked_until)
        if now >= challenge.expires_at:
            return OtpResult(OtpOutcome.EXPIRED, user=user)
        if constant_time_compare(challenge.code_hash, _otp_hash(challenge.pk, code)):
            challenge.completed_at = now
            challenge.save(update_fields=["completed_at"])
            return OtpResult(OtpOutcome.OK, user=user)
        challenge.wrong_tries += 1
        lock = login_failure_record(
            user.email,
            ip=ip,
            user=user,
            user_agent=user_agent,
            outcome=LoginEvent.Outcome.OTP_FAILURE,
            channel=channel,
        )
        if lock.locked:
            _challenge_end(challenge, "locked", now)
            return OtpResult(OtpOutcome.LOCKED, locked_until=lock.locked_until)
        tries_left = settings.LOGIN_OTP_MAX_WRONG - challenge.wrong_tries
        if tries_left <= 0:
            _challenge_end(challenge, "too_many_wrong", now)
            return OtpResult(OtpOutcome.EXHAUSTED)
        challenge.save(update_fields=["wrong_tries"])
        return OtpResult(OtpOutcome.WRONG, user=user, tries_left=tries_left)


def _login_challenges_end_all(user, reason: str) -> None:
    LoginChallenge.objects.filter(
        user=user, completed_at__isnull=True, ended_at__isnull=True
    ).update(ended_at=clock.now(), end_reason=reason)


# --- Trusted browsers (skip the one-time password) ---------------------------------------------

_TRUSTED_SALT = "portal.accounts.trusted_browser"


def _password_fingerprint(user) -> str:
    # Bound to the password hash too, so any password change (even one that forgot to call
    # trusted_browser_revoke_all) makes existing cookies worthless.
    return salted_hmac(_TRUSTED_SALT, user.password, algorithm="sha256").hexdigest()[:32]


def trusted_browser_create(
    user, *, ip: str | None = None, user_agent: str = ""
) -> tuple[TrustedBrowser, str]:
    """Registers this browser for the account; returns the row and the signed cookie value."""
    now = clock.now()
    browser = TrustedBrowser.objects.create(
        user=user,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.TRUSTED_BROWSER_DAYS),
        last_used_at=now,
        ip=_ip_or_none(ip),
        user_agent=(user_agent or "")[:_USER_AGENT_MAX],
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


def trusted_browser_check(user, cookie_value: str | None) -> TrustedBrowser | None:
    """The trusted-browser row if this cookie lets this account skip the one-time password."""
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


def trusted_browser_list(user):
    return TrustedBrowser.objects.filter(user=user, expires_at__gt=clock.now()).order_by(
        "-created_at"
    )


def trusted_browser_revoke(user, browser_id, *, ip: str | None = None) -> bool:
    deleted, _rows = TrustedBrowser.objects.filter(user=user, pk=browser_id).delete()
    if deleted:
        audit_event_record(
            "account.trusted_browser_revoked",
            actor=user,
            target_type="user",
            target_id=str(user.pk),
            ip=ip,
            detail={"count": deleted},
        )
    return bool(deleted)


def trusted_browser_revoke_all(user, *, actor=None, ip: str | None = None, reason: str = "") -> int:
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
            ip=ip,
            detail={"count": deleted, "reason": reason},
        )
    return deleted


# --- Sessions ---------------------------------------------------------------------------------


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def user_session_live(session_key: str) -> bool:
    """Whether a tracked session still exists server-side (not logged out, expired, evicted)."""
    return _session_store()().exists(session_key)


def user_session_track(user, session_key: str, *, ip: str | None, user_agent: str = "") -> None:
    """Tracks a logged-in session, so that it can be ended from elsewhere (user_sessions_end).
    Sessions that end on their own (expiry, eviction) are forgotten by `purge`."""
    row = {
        "user": user,
        "created_at": clock.now(),
        "ip": _ip_or_none(ip),
        "user_agent": (user_agent or "")[:_USER_AGENT_MAX],
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
    store = _session_store()
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)


# --- Password change ---------------------------------------------------------------------------


class AccountLocked(Exception):
    def __init__(self, locked_until: dt.datetime) -> None:
        super().__init__(locked_until)
        self.locked_until = locked_until


class PasswordChangeRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def account_password_change(
    user,
    *,
    current_password: str,
    new_password: str,
    ip: str | None,
    user_agent: str = "",
    keep_session_key: str | None = None,
) -> None:
    """Changes the password of a logged-in job seeker. The new password must already have
    passed the password rules (the form runs validate_password). A wrong current password
    counts toward the lockout like a failed login. Ends the account's other sessions, revokes
    every trusted browser, mails a notice and writes an audit event."""
    lock = login_lock_status(user.email, ip)
    if lock.locked:
        raise AccountLocked(lock.locked_until)
    if not user.check_password(current_password):
        lock = login_failure_record(
            user.email,
            ip=ip,
            user=user,
            user_agent=user_agent,
            outcome=LoginEvent.Outcome.CURRENT_PASSWORD_FAILURE,
        )
        if lock.locked:
            raise AccountLocked(lock.locked_until)
        raise PasswordChangeRefused(
            "current_password",
            _("現在のパスワードが正しくありません。いま使っているパスワードを入力してください。"),
        )
    if new_password == current_password:
        raise PasswordChangeRefused(
            "new_password1",
            _("新しいパスワードには、現在のパスワードと異なるものを入力してください。"),
        )
    now = clock.now()
    jobseeker = jobseeker_of(user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        trusted_browser_revoke_all(user, actor=user, ip=ip, reason="password_changed")
        user_sessions_end(user, keep_session_key=keep_session_key)
        _login_challenges_end_all(user, "password_changed")
        mail_queue(
            to=user.email,
            kind="password_changed",
            context={
                "name": jobseeker.name if jobseeker else "",
                "changed_at": timezone.localtime(now),
            },
            language=jobseeker_mail_language(jobseeker, translation.get_language()),
        )
        audit_event_record(
            "account.password_changed",
            actor=user,
            target_type="user",
            target_id=str(user.pk),
            ip=ip,
        )


# --- The counter's e-mail change ---------------------------------------------------------------


def jobseeker_change_email(
    jobseeker: JobSeeker,
    new_email: str,
    *,
    actor=None,
    actor_label: str = "",
    ip: str | None = None,
    remove_passkeys: bool = True,
) -> JobSeeker:
    """Changes a job seeker's e-mail address (and login ID) at the counter, in one transaction:
    ends the job seeker's open registration flows, the account's sessions, pending one-time
    passwords and trusted browsers, removes the account's passkeys (unless the clerk keeps
    them: `remove_passkeys`); mails a notice to the old and the new address; writes an
    audit event. Raises ValidationError when the address is malformed or taken."""
    from portal.jobseekers.services import parse_email
    from portal.passkeys.services import passkeys_remove_all
    from portal.registration.services import flow_end_for_jobseeker

    email = parse_email(new_email)
    user_model = get_user_model()
    now = clock.now()
    try:
        with transaction.atomic():
            current = JobSeeker.objects.select_for_update().get(pk=jobseeker.pk)
            user = (
                user_model.objects.select_for_update().get(pk=current.user_id)
                if current.user_id is not None
                else None
            )
            old_email = current.email
            if old_email.lower() == email:
                raise ValidationError(
                    _("現在と同じメールアドレスです。新しいメールアドレスを入力してください。"),
                    code="unchanged",
                )
            taken = (
                JobSeeker.objects.filter(email__lower=email).exclude(pk=current.pk).exists()
                or user_model.objects.filter(email=email).exclude(pk=current.user_id).exists()
            )
            if taken:
                raise ValidationError(
                    _("このメールアドレスは別の求職者またはアカウントで使われています。"),
                    code="taken",
                )
            current.email = email
            current.updated_at = now
            current.version += 1
            current.save(update_fields=["email", "updated_at", "version"])
            sessions = browsers = passkeys = 0
            if user is not None:
                user.email = email
                user.save(update_fields=["email"])
                sessions = user_sessions_end(user)
                browsers = trusted_browser_revoke_all(
                    user, actor=actor, ip=ip, reason="email_changed"
                )
                _login_challenges_end_all(user, "email_changed")
                if remove_passkeys:
                    passkeys = passkeys_remove_all(user, actor=actor, ip=ip, reason="email_changed")
            flow_end_for_jobseeker(current, reason="email_changed")
            context = {
                "name": current.name,
                "old_email": old_email,
                "new_email": email,
                "changed_at": timezone.localtime(now),
                "office_contact": settings.OFFICE_CONTACT,
            }
            # The job seeker's own language, never the clerk's (whose page this may be).
            language = jobseeker_mail_language(current)
            mail_queue(to=old_email, kind="email_changed_old", context=context, language=language)
            mail_queue(to=email, kind="email_changed_new", context=context, language=language)
            feed_event_record("address_changed", number=current.number)
            audit_event_record(
                "jobseeker.email_changed",
                actor=actor,
                actor_label=actor_label,
                target_type="jobseeker",
                target_id=current.number,
                ip=ip,
                detail={
                    "old_email": old_email,
                    "new_email": email,
                    "sessions_ended": sessions,
                    "trusted_browsers_revoked": browsers,
                    "passkeys_removed": passkeys,
                },
            )
    except IntegrityError:
        raise ValidationError(
            _("このメールアドレスは別の求職者またはアカウントで使われています。"), code="taken"
        ) from None
    return current


# --- What My Page and the staff admin show -----------------------------------------------------


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


def account_after_password_reset(user, *, ip: str | None = None) -> None:
    """A reset by mailed key proves the owner: it lifts a login lock, drops the browsers that
    skipped the one-time password, ends every session and every one-time-password step begun
    with the old password."""
    login_lock_clear(user, ip=ip, reason="password_reset")
    trusted_browser_revoke_all(user, ip=ip, reason="password_reset")
    user_sessions_end(user)
    _login_challenges_end_all(user, "password_reset")
