"""The integration API's own rules around the counter's services: what a client system may do
on top of what the staff admin may (docs/architecture.md, "Refusals")."""

from django.conf import settings

from portal.core.origin import RequestOrigin
from portal.core.ratelimit import rate_limit_exceeded
from portal.core.refusal import Reason, Refused
from portal.counter.services import jobseeker_change_email
from portal.jobseekers.models import JobSeeker

DAY_SECONDS = 86400


def api_email_change(
    client_id: int, jobseeker: JobSeeker, new_email: str, *, actor_label: str, origin: RequestOrigin
) -> JobSeeker:
    """The counter's e-mail change for a client system, within the client's daily cap
    (API_EMAIL_CHANGES_PER_CLIENT_PER_DAY): a client's token alone could otherwise move many
    opened accounts to addresses it chose. Raises Refused(RATE_LIMITED, wait_seconds) past the
    cap; the change's own ValidationError otherwise."""
    if rate_limit_exceeded(
        "api-email-change",
        str(client_id),
        limit=settings.API_EMAIL_CHANGES_PER_CLIENT_PER_DAY,
        window_seconds=DAY_SECONDS,
    ):
        raise Refused(Reason.RATE_LIMITED, wait_seconds=DAY_SECONDS)
    return jobseeker_change_email(jobseeker, new_email, actor_label=actor_label, origin=origin)
