"""The one-time password mailed at login (docs/architecture.md, "Login")."""

from __future__ import annotations

import datetime as dt
import math
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.accounts.models import (
    LoginChallenge,
    LoginEvent,
)
from portal.accounts.selectors import (
    OTP_MAIL_KIND,
    jobseeker_of,
    login_lock_status,
    mypage_allowed,
    otp_mails_last_hour,
)
from portal.accounts.services.lockout import login_failure_record
from portal.core.clock import clock
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue


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
            "minutes": minutes,
            "expires_at": timezone.localtime(challenge.expires_at),
        },
        secret=code,
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


def _challenge_end(challenge: LoginChallenge, reason: str, now: dt.datetime) -> None:
    challenge.ended_at = now
    challenge.end_reason = reason
    challenge.save(update_fields=["ended_at", "end_reason", "wrong_tries"])


def login_challenge_resend(challenge_id) -> LoginChallenge:
    """A new code for the same challenge, after the cool-down and within the hourly cap. The
    count of wrong tries is kept."""
    now = clock.now()
    with transaction.atomic():
        challenge = LoginChallenge.objects.select_for_update().filter(pk=challenge_id).first()
        if challenge is None or not challenge.is_open or not mypage_allowed(challenge.user):
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
    challenge_id, code: str, *, ip: str | None, user_agent: str = ""
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
        if not mypage_allowed(user):
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


def login_challenges_end_all(user, reason: str) -> None:
    LoginChallenge.objects.filter(
        user=user, completed_at__isnull=True, ended_at__isnull=True
    ).update(ended_at=clock.now(), end_reason=reason)
