"""A staff member changes their own e-mail address (their login ID, and where their one-time
passwords go). The change needs a one-time password mailed to the new address, so a typo cannot
lock the staff member out; a notice goes to the old address; the change is audited. No admin
form changes a staff address otherwise."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.accounts.models import LoginChallenge, LoginEvent
from portal.accounts.services.otp import (
    login_challenge_verify,
    login_challenges_end_all,
    otp_code_new,
)
from portal.accounts.services.sessions import user_sessions_end
from portal.accounts.staff_auth import staff_allowed
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import RequestOrigin
from portal.core.refusal import Reason, Refused
from portal.jobseekers.models import JobSeeker
from portal.jobseekers.parsing import parse_email
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue

CODE_MAIL_KIND = "staff_email_code"
NOTICE_MAIL_KIND = "staff_email_changed"


def _taken_error() -> ValidationError:
    return ValidationError(
        _("このメールアドレスは別のアカウントまたは求職者の登録で使われています。"), code="taken"
    )


def _check_new_email(user, new_email: str) -> str:
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
    malformed or taken address, Refused(OTP_UNAVAILABLE) when the mail caps are reached."""
    email = _check_new_email(user, new_email)
    now = clock.now()
    minutes = settings.LOGIN_OTP_LIFETIME_MINUTES
    with transaction.atomic():
        challenge = LoginChallenge(id=uuid.uuid4(), user=user, created_at=now)
        code = otp_code_new(challenge, now)
        mail = mail_queue(
            to=email,
            kind=CODE_MAIL_KIND,
            context={"minutes": minutes, "expires_at": timezone.localtime(challenge.expires_at)},
            secret=code,
            # Staff have no language of their own on record: the page's.
            language=translation.get_language(),
        )
        if mail.status == OutboundMail.Status.CAPPED:
            raise Refused(Reason.OTP_UNAVAILABLE)
        challenge.save()
    return challenge, email


def staff_email_change_confirm(
    user,
    challenge_id,
    code: str,
    new_email: str,
    *,
    origin: RequestOrigin,
    keep_session_key: str | None = None,
) -> None:
    """Checks the one-time password (wrong ones count toward the lockout as at login) and, when
    right, changes the address in one transaction: the staff member's other sessions and open
    one-time-password steps end, the old address gets a notice, an audit event is written.
    Raises Refused as login_challenge_verify for the code, ValidationError if the address was
    taken meanwhile."""
    login_challenge_verify(
        challenge_id,
        code,
        origin=origin,
        allowed=lambda u: u.pk == user.pk and staff_allowed(u),
        channel=LoginEvent.Channel.STAFF,
    )
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
            login_challenges_end_all(current, "email_changed")
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
                origin=origin,
                detail={"old_email": old_email, "new_email": email, "sessions_ended": sessions},
            )
    except IntegrityError:
        raise _taken_error() from None
    user.email = email
