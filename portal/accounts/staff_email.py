"""A staff member changes their own e-mail address (their login ID, and where their one-time
passwords go). The change needs a one-time password mailed to the new address, so a typo cannot
lock the staff member out; a notice goes to the old address; the change is audited. No admin
form changes a staff address otherwise."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.accounts.models import LoginChallenge, LoginEvent
from portal.accounts.services import (
    OtpMailCapReached,
    OtpOutcome,
    OtpResult,
    _login_challenges_end_all,
    _otp_hash,
    _otp_new_code,
    login_challenge_verify,
    user_sessions_end,
)
from portal.accounts.staff_auth import staff_allowed
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue

CODE_MAIL_KIND = "staff_email_code"
NOTICE_MAIL_KIND = "staff_email_changed"


def _taken_error() -> ValidationError:
    return ValidationError(
        _("このメールアドレスは別のアカウントまたは求職者の登録で使われています。"), code="taken"
    )


def _check_new_email(user, new_email: str) -> str:
    from portal.jobseekers.services import parse_email

    email = parse_email(new_email)
    if email == user.email:
        raise ValidationError(
            _("現在と同じメールアドレスです。新しいメールアドレスを入力してください。"),
            code="unchanged",
        )
    taken = (
        get_user_model().objects.filter(email=email).exclude(pk=user.pk).exists()
        or JobSeeker.objects.filter(email__lower=email).exists()
    )
    if taken:
        raise _taken_error()
    return email


def staff_email_change_start(user, new_email: str) -> tuple[LoginChallenge, str]:
    """Mails a one-time password to the new address; returns the step and the normalised
    address (kept by the caller, in the staff member's session). Raises ValidationError for a
    malformed or taken address, OtpMailCapReached when the mail caps are reached."""
    email = _check_new_email(user, new_email)
    now = clock.now()
    minutes = settings.LOGIN_OTP_LIFETIME_MINUTES
    with transaction.atomic():
        challenge = LoginChallenge(
            id=uuid.uuid4(),
            user=user,
            created_at=now,
            sent_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
        code = _otp_new_code()
        challenge.code_hash = _otp_hash(challenge.pk, code)
        mail = mail_queue(
            to=email,
            kind=CODE_MAIL_KIND,
            context={"minutes": minutes, "expires_at": timezone.localtime(challenge.expires_at)},
            secret=code,
            # Staff have no language of their own on record: the page's.
            language=translation.get_language(),
        )
        if mail.status == OutboundMail.Status.CAPPED:
            raise OtpMailCapReached
        challenge.save()
    return challenge, email


def staff_email_change_confirm(
    user,
    challenge_id,
    code: str,
    new_email: str,
    *,
    ip: str | None,
    user_agent: str = "",
    keep_session_key: str | None = None,
) -> OtpResult:
    """Checks the one-time password (wrong ones count toward the lockout as at login) and, when
    right, changes the address in one transaction: the staff member's other sessions and open
    one-time-password steps end, the old address gets a notice, an audit event is written.
    Raises ValidationError if the address was taken meanwhile."""
    result = login_challenge_verify(
        challenge_id,
        code,
        ip=ip,
        user_agent=user_agent,
        allowed=lambda u: u.pk == user.pk and staff_allowed(u),
        channel=LoginEvent.Channel.STAFF,
    )
    if result.outcome != OtpOutcome.OK:
        return result
    user_model = get_user_model()
    now = clock.now()
    try:
        with transaction.atomic():
            current = user_model.objects.select_for_update().get(pk=user.pk)
            email = _check_new_email(current, new_email)
            old_email = current.email
            current.email = email
            current.save(update_fields=["email"])
            sessions = user_sessions_end(current, keep_session_key=keep_session_key)
            _login_challenges_end_all(current, "email_changed")
            mail_queue(
                to=old_email,
                kind=NOTICE_MAIL_KIND,
                context={
                    "name": current.display_name,
                    "old_email": old_email,
                    "new_email": email,
                    "changed_at": timezone.localtime(now),
                },
                language=translation.get_language(),
            )
            audit_event_record(
                "staff.email_changed",
                actor=current,
                target_type="user",
                target_id=str(current.pk),
                ip=ip,
                detail={"old_email": old_email, "new_email": email, "sessions_ended": sessions},
            )
    except IntegrityError:
        raise _taken_error() from None
    user.email = email
    return result
