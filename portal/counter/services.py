"""The counter's actions that touch several apps: this app sits above accounts, jobseekers and
registration and imports from them; none of them imports from it (docs/architecture.md,
"Layers")."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.services.otp import login_challenges_end_all
from portal.accounts.services.sessions import user_sessions_end
from portal.accounts.services.trusted_browsers import trusted_browser_revoke_all
from portal.audit.feed import feed_event_record
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.jobseekers.language import jobseeker_mail_language
from portal.jobseekers.models import JobSeeker
from portal.jobseekers.parsing import parse_email
from portal.mail.services import mail_queue
from portal.passkeys.services import passkeys_remove_all
from portal.registration.services import flow_end_for_jobseeker


def jobseeker_change_email(
    jobseeker: JobSeeker,
    new_email: str,
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
    remove_passkeys: bool = True,
) -> JobSeeker:
    """Changes a job seeker's e-mail address (and login ID) at the counter, in one transaction:
    ends the job seeker's open registration flows, the account's sessions, pending one-time
    passwords and trusted browsers, removes the account's passkeys (unless the clerk keeps
    them: `remove_passkeys`); mails a notice to the old and the new address; writes an
    audit event. Raises ValidationError when the address is malformed or taken."""
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
                    user, actor=actor, origin=origin, reason="email_changed"
                )
                login_challenges_end_all(user, "email_changed")
                if remove_passkeys:
                    passkeys = passkeys_remove_all(
                        user, actor=actor, origin=origin, reason="email_changed"
                    )
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
                origin=origin,
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
