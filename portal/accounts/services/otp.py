"""The one-time password mailed at login (docs/architecture.md, "Login")."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

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
from portal.core.mailed_codes import (
    CodeRules,
    code_digest,
    code_expired,
    code_generate,
    code_matches,
    code_resend_check,
    code_wrong_try,
)
from portal.core.origin import RequestOrigin
from portal.core.refusal import Reason, Refused
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue

_OTP_NAMESPACE = "login-otp"


def _otp_rules() -> CodeRules:
    # Read at each use: the settings may differ per test and per deployment.
    return CodeRules(
        digits=settings.LOGIN_OTP_DIGITS,
        lifetime=dt.timedelta(minutes=settings.LOGIN_OTP_LIFETIME_MINUTES),
        max_wrong=settings.LOGIN_OTP_MAX_WRONG,
        resend_cooldown=dt.timedelta(seconds=settings.LOGIN_OTP_RESEND_COOLDOWN_SECONDS),
    )


def _otp_matches(challenge: LoginChallenge, code: str) -> bool:
    stored = bytes.fromhex(challenge.code_hash) if challenge.code_hash else None
    return code_matches(stored, _OTP_NAMESPACE, challenge.pk, code)


def otp_code_new(challenge: LoginChallenge, now: dt.datetime) -> str:
    """Puts a new one-time password on the challenge (only its digest is kept; the previous
    code stops working) and returns it, for the caller to mail or show. Not saved here."""
    rules = _otp_rules()
    code = code_generate(rules)
    challenge.code_hash = code_digest(_OTP_NAMESPACE, challenge.pk, code).hex()
    challenge.sent_at = now
    challenge.expires_at = now + rules.lifetime
    return code


def _otp_send(challenge: LoginChallenge, user, now: dt.datetime) -> None:
    """Puts a new code on the challenge (the previous one stops working) and queues its mail.
    Call inside a transaction: a refused mail (Refused(OTP_UNAVAILABLE)) rolls the change
    back."""
    if otp_mails_last_hour(user, now=now) >= settings.LOGIN_OTP_MAILS_PER_HOUR:
        raise Refused(Reason.OTP_UNAVAILABLE)
    code = otp_code_new(challenge, now)
    minutes = settings.LOGIN_OTP_LIFETIME_MINUTES
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
        raise Refused(Reason.OTP_UNAVAILABLE)


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


def login_challenge_resend(challenge_id, *, allowed=mypage_allowed) -> LoginChallenge:
    """A new code for the same challenge, after the cool-down and within the hourly cap. The
    count of wrong tries is kept. Raises Refused: CHALLENGE_ENDED, RESEND_TOO_SOON (with
    wait_seconds), OTP_UNAVAILABLE."""
    now = clock.now()
    with transaction.atomic():
        challenge = LoginChallenge.objects.select_for_update().filter(pk=challenge_id).first()
        if challenge is None or not challenge.is_open or not allowed(challenge.user):
            raise Refused(Reason.CHALLENGE_ENDED)
        code_resend_check(
            _otp_rules(), resends=challenge.resends, last_sent_at=challenge.sent_at, now=now
        )
        _otp_send(challenge, challenge.user, now)
        challenge.resends += 1
        challenge.save(update_fields=["code_hash", "sent_at", "expires_at", "resends"])
    return challenge


def login_challenge_verify(
    challenge_id,
    code: str,
    *,
    origin: RequestOrigin,
    allowed=mypage_allowed,
    channel: str = LoginEvent.Channel.MYPAGE,
) -> object:
    """Checks a one-time password; returns the account. A right code works once; an expired
    one is refused without counting; each wrong one counts toward the account's lockout, and
    the last allowed wrong one ends the attempt. Raises Refused (CHALLENGE_ENDED, LOCKED with
    locked_until, OTP_EXPIRED, OTP_WRONG with tries_left, OTP_EXHAUSTED) once what it changed
    (a wrong try counted, the challenge ended) is committed."""
    outcome = _verify_locked(challenge_id, code, origin=origin, allowed=allowed, channel=channel)
    if isinstance(outcome, Refused):
        raise outcome
    return outcome


def _verify_locked(challenge_id, code: str, *, origin: RequestOrigin, allowed, channel: str):
    """login_challenge_verify's decision, in one transaction that commits whatever the answer:
    a refusal is returned, not raised, so what it counted is kept."""
    now = clock.now()
    with transaction.atomic():
        challenge = (
            LoginChallenge.objects.select_for_update()
            .select_related("user")
            .filter(pk=challenge_id)
            .first()
        )
        if challenge is None or not challenge.is_open:
            return Refused(Reason.CHALLENGE_ENDED)
        user = challenge.user
        if not allowed(user):
            _challenge_end(challenge, "account_unavailable", now)
            return Refused(Reason.CHALLENGE_ENDED)
        lock = login_lock_status(user.email, origin)
        if lock.locked:
            _challenge_end(challenge, "locked", now)
            return Refused(Reason.LOCKED, locked_until=lock.locked_until)
        rules = _otp_rules()
        if code_expired(challenge.sent_at, rules, now):
            return Refused(Reason.OTP_EXPIRED)
        if _otp_matches(challenge, code):
            challenge.completed_at = now
            challenge.save(update_fields=["completed_at"])
            return user
        challenge.wrong_tries, tries_left = code_wrong_try(challenge.wrong_tries, rules)
        lock = login_failure_record(
            user.email,
            origin=origin,
            user=user,
            outcome=LoginEvent.Outcome.OTP_FAILURE,
            channel=channel,
        )
        if lock.locked:
            _challenge_end(challenge, "locked", now)
            return Refused(Reason.LOCKED, locked_until=lock.locked_until)
        if tries_left == 0:
            _challenge_end(challenge, "too_many_wrong", now)
            return Refused(Reason.OTP_EXHAUSTED)
        challenge.save(update_fields=["wrong_tries"])
        return Refused(Reason.OTP_WRONG, tries_left=tries_left)


def login_challenges_end_all(user, reason: str) -> None:
    LoginChallenge.objects.filter(
        user=user, completed_at__isnull=True, ended_at__isnull=True
    ).update(ended_at=clock.now(), end_reason=reason)
