"""Closing a job seeker's registration (it lapsed, or ended with a job) and reopening it.
A closed job seeker cannot log in (mypage_allowed) or register (the registration's identity
answer treats them as not in the register). Closing ends their sessions, one-time-password
steps and open registration flows and erases nothing, so reopening restores the account as
it was."""

from django.db import transaction

from portal.accounts.services.otp import login_challenges_end_all
from portal.accounts.services.sessions import user_sessions_end
from portal.audit.feed import feed_event_record
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.jobseekers.models import JobSeeker
from portal.registration.services import flow_end_for_jobseeker


def _set_closed(
    jobseeker: JobSeeker, closed: bool, *, actor, actor_label, origin: RequestOrigin
) -> JobSeeker | None:
    now = clock.now()
    current = (
        JobSeeker.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=jobseeker.pk)
    )
    if (current.closed_at is not None) == closed:
        return None
    current.closed_at = now if closed else None
    current.updated_at = now
    current.version += 1
    current.save(update_fields=["closed_at", "updated_at", "version"])
    action = "closed" if closed else "reopened"
    audit_event_record(
        f"jobseeker.{action}",
        actor=actor,
        actor_label=actor_label,
        target_type="jobseeker",
        target_id=current.number,
        origin=origin,
    )
    feed_event_record(action, number=current.number)
    return current


def jobseeker_close(
    jobseeker: JobSeeker,
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
) -> bool:
    """Closes the registration; False when it already was."""
    with transaction.atomic():
        current = _set_closed(jobseeker, True, actor=actor, actor_label=actor_label, origin=origin)
        if current is None:
            return False
        if current.user is not None:
            user_sessions_end(current.user)
            login_challenges_end_all(current.user, "closed")
        flow_end_for_jobseeker(current, reason="closed")
    return True


def jobseeker_reopen(
    jobseeker: JobSeeker,
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
) -> bool:
    """Reopens a closed registration; False when it was not closed."""
    with transaction.atomic():
        current = _set_closed(jobseeker, False, actor=actor, actor_label=actor_label, origin=origin)
    return current is not None
