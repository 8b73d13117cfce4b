"""The login: one password attempt with the same work for every ID, and the first login
step (docs/architecture.md, "Login")."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.db import transaction

from portal.accounts.models import (
    LoginChallenge,
    LoginEvent,
)
from portal.accounts.selectors import (
    jobseeker_of,
    login_key,
    mypage_allowed,
    user_for_login,
)
from portal.accounts.services.lockout import (
    login_event_record,
    login_failure_count,
    login_failure_refund,
    login_failures_reset,
    login_locked_event_record,
)
from portal.accounts.services.otp import login_challenge_start
from portal.accounts.services.sessions import LAST_ACTIVITY_SESSION_KEY, user_session_track
from portal.accounts.services.trusted_browsers import trusted_browser_use
from portal.audit.feed import feed_event_record
from portal.core.clock import clock
from portal.core.origin import RequestOrigin, request_origin
from portal.core.ratelimit import rate_limit_exceeded
from portal.core.refusal import Reason, Refused
from portal.jobseekers.language import jobseeker_language_set

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


def login_password_attempt(
    login_id: str,
    password: str,
    *,
    user,
    origin: RequestOrigin,
    channel: str = LoginEvent.Channel.MYPAGE,
    allowed=lambda user: True,
    refund: bool = True,
) -> None:
    """One password attempt for an ID (existing or not). The attempt is counted before the
    password is checked and taken back when it is right, so parallel guesses can never run
    more checks than the lockout threshold allows. A locked ID costs no check at all.

    `refund=False`: a right attempt is left counted, for a caller that logs in at once
    (login_complete clears the counters) or else takes it back itself.

    Returns when the password is right; raises Refused(LOCKED) for an ID already locked (no
    check was made) and Refused(LOGIN_FAILED) for a wrong password, with `locked_until` set
    when this failure locked the ID."""
    key = login_key(login_id)
    lock, already_locked = login_failure_count(key, origin)
    if already_locked:
        login_locked_event_record(key, lock, user=user, origin=origin, channel=channel)
        raise Refused(Reason.LOCKED, locked_until=lock.locked_until)
    if _password_matches(user, password) and allowed(user):
        if refund:
            login_failure_refund(key, origin)
        return
    login_event_record(
        LoginEvent.Outcome.PASSWORD_FAILURE,
        key=key,
        user=user,
        origin=origin,
        channel=channel,
    )
    if lock.locked and user is not None:
        feed_event_record("account_locked", user=user)
    raise Refused(Reason.LOGIN_FAILED, locked_until=lock.locked_until)


def login_password_first_step(
    login_id: str,
    password: str,
    *,
    user,
    origin: RequestOrigin,
    channel: str = LoginEvent.Channel.MYPAGE,
    allowed=lambda user: True,
) -> None:
    """A login page's password step (My Page's and the staff admin's): the attempt is left
    counted when right (the caller logs in or refunds it). Raises Refused(LOCKED, locked_until)
    for an ID locked before or by this failure, else Refused(LOGIN_FAILED)."""
    try:
        login_password_attempt(
            login_id,
            password,
            user=user,
            origin=origin,
            channel=channel,
            allowed=allowed,
            refund=False,
        )
    except Refused as refusal:
        if refusal.locked_until is not None:
            raise Refused(Reason.LOCKED, locked_until=refusal.locked_until) from None
        raise


# --- Login ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginStarted:
    """A right ID and password: log `user` in now (challenge None), or ask for the one-time
    password of `challenge`."""

    user: object
    challenge: LoginChallenge | None = None


def login_start(
    login_id: str,
    password: str,
    *,
    origin: RequestOrigin,
    trusted_cookie: str | None = None,
) -> LoginStarted:
    """The first login step: ID and password. Unknown, pending and suspended IDs get the same
    answer and the same single password-hash check as a wrong password. With no challenge the
    caller logs the account in with login_complete, which also clears the failure counters.

    Raises Refused: RATE_LIMITED, LOCKED (with locked_until), LOGIN_FAILED, OTP_UNAVAILABLE."""
    if rate_limit_exceeded(
        "login-ip",
        origin.ip_key,
        limit=settings.LOGIN_ATTEMPTS_PER_IP_PER_HOUR,
        window_seconds=3600,
    ):
        raise Refused(Reason.RATE_LIMITED)
    user = user_for_login(login_id)
    login_password_first_step(login_id, password, user=user, origin=origin, allowed=mypage_allowed)
    if not settings.LOGIN_OTP_ENABLED or trusted_browser_use(user, trusted_cookie):
        # The caller logs in now: login_complete clears the counters, this attempt with them.
        return LoginStarted(user)
    login_failure_refund(login_key(login_id), origin)
    return LoginStarted(user, challenge=login_challenge_start(user))


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
    origin = request_origin(request)
    key = login_key(user.email)
    with transaction.atomic():
        login_failures_reset(key, origin)
        login_event_record(outcome, key=key, user=user, origin=origin, channel=channel)
        # django.contrib.auth.login cycles the session key (or starts a fresh session).
        auth_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        # The session was written under its new key by the cycle; the middleware writes it
        # once more at the end of the request, with this.
        request.session[LAST_ACTIVITY_SESSION_KEY] = clock.now().timestamp()
        user_session_track(user, request.session.session_key, origin=origin)
        # Signing in proves the person: the page's language becomes their own.
        jobseeker = jobseeker_of(user)
        if jobseeker is not None:
            jobseeker_language_set(jobseeker, getattr(request, "LANGUAGE_CODE", None))
