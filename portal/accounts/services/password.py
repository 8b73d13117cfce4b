"""The password change on My Page, and what a password reset does to the account."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone, translation
from django.views.decorators.debug import sensitive_variables

from portal.accounts.models import (
    LoginEvent,
)
from portal.accounts.selectors import (
    jobseeker_of,
    login_lock_status,
)
from portal.accounts.services.lockout import login_failure_record, login_lock_clear
from portal.accounts.services.otp import login_challenges_end_all
from portal.accounts.services.sessions import user_sessions_end
from portal.accounts.services.trusted_browsers import trusted_browser_revoke_all
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.core.refusal import Reason, Refused
from portal.jobseekers.language import jobseeker_mail_language
from portal.mail.services import mail_queue


def account_password_change(
    user,
    *,
    current_password: str,
    new_password: str,
    origin: RequestOrigin,
    keep_session_key: str | None = None,
) -> None:
    """Changes the password of a logged-in job seeker. The new password must already have
    passed the password rules (the form runs validate_password). A wrong current password
    counts toward the lockout like a failed login. Ends the account's other sessions, revokes
    every trusted browser, mails a notice and writes an audit event. Raises Refused: LOCKED
    (with locked_until), CURRENT_PASSWORD_WRONG, PASSWORD_UNCHANGED."""
    _current_password_check(user, lambda: user.check_password(current_password), origin)
    if new_password == current_password:
        raise Refused(Reason.PASSWORD_UNCHANGED)
    now = clock.now()
    jobseeker = jobseeker_of(user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        trusted_browser_revoke_all(user, actor=user, origin=origin, reason="password_changed")
        user_sessions_end(user, keep_session_key=keep_session_key)
        login_challenges_end_all(user, "password_changed")
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
            origin=origin,
        )


@sensitive_variables("password")
def account_current_password_verify(user, password: str, *, origin: RequestOrigin) -> None:
    """The current password checked on its own, for a password change whose new password the
    form already refused: one submission then reports every problem at once. A wrong one
    counts toward the lockout exactly as in account_password_change; a locked ID checks
    nothing. Raises Refused: LOCKED (with locked_until), CURRENT_PASSWORD_WRONG."""
    # check_password, not user.check_password: a right answer here changes nothing (no rehash).
    _current_password_check(user, lambda: check_password(password, user.password), origin)


def _current_password_check(user, right, origin: RequestOrigin) -> None:
    """A locked ID checks nothing; `right()` is asked only then; a wrong current password
    counts toward the lockout like a failed login."""
    lock = login_lock_status(user.email, origin)
    if lock.locked:
        raise Refused(Reason.LOCKED, locked_until=lock.locked_until)
    if right():
        return
    lock = login_failure_record(
        user.email,
        origin=origin,
        user=user,
        outcome=LoginEvent.Outcome.CURRENT_PASSWORD_FAILURE,
    )
    if lock.locked:
        raise Refused(Reason.LOCKED, locked_until=lock.locked_until)
    raise Refused(Reason.CURRENT_PASSWORD_WRONG)


def account_after_password_reset(user, *, origin: RequestOrigin = NO_REQUEST) -> None:
    """A reset by mailed key proves the owner: it lifts a login lock, drops the browsers that
    skipped the one-time password, ends every session and every one-time-password step begun
    with the old password."""
    login_lock_clear(user, origin=origin, reason="password_reset")
    trusted_browser_revoke_all(user, origin=origin, reason="password_reset")
    user_sessions_end(user)
    login_challenges_end_all(user, "password_reset")
