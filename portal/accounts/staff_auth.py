"""The staff admin's login: the password, then the mailed one-time password, on the My Page
login's machinery (the same lockout counters, LoginChallenge, the same mail and its caps). No
trusted-browser skip: every staff login asks for the one-time password.

A session that passed both steps carries STAFF_VERIFIED_SESSION_KEY; the admin site
(portal.accounts.sites.StaffAdminSite) admits no session without it. Also here: where staff may
come from (STAFF_ALLOWED_NETWORKS) and the console's recovery of a staff member's login."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.db import transaction

from portal.accounts.models import LoginChallenge, LoginEvent
from portal.accounts.selectors import login_key, user_for_login
from portal.accounts.services.lockout import login_failure_refund
from portal.accounts.services.login import (
    LoginStarted,
    login_complete,
    login_password_first_step,
)
from portal.accounts.services.otp import (
    login_challenge_resend,
    login_challenge_start,
    login_challenge_verify,
    otp_code_new,
)
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import RequestOrigin
from portal.core.ratelimit import rate_limit_exceeded
from portal.core.refusal import Reason, Refused

# The pending one-time-password step of a staff login (challenge id and `next`), in the
# still-anonymous session; and the marker of a session that passed both steps (the user's pk).
STAFF_PENDING_SESSION_KEY = "staff_otp"
STAFF_VERIFIED_SESSION_KEY = "staff_second_factor"


def staff_allowed(user) -> bool:
    """Whether this account may log in to the staff admin at all."""
    return user is not None and user.is_active and user.is_staff


def staff_login_start(login_id: str, password: str, *, origin: RequestOrigin) -> LoginStarted:
    """The first staff login step. An ID that is not an active staff account (a job seeker's
    included) is handled exactly like an unknown ID: the dummy hash is checked, the attempt is
    counted and never refunded, so this page cannot confirm a job seeker's password.

    Returns LoginStarted (challenge None: log in now with staff_login_complete, which clears
    the count). Raises Refused: RATE_LIMITED, LOCKED (with locked_until), LOGIN_FAILED,
    OTP_UNAVAILABLE."""
    if rate_limit_exceeded(
        "staff-login-ip",
        origin.ip_key,
        limit=settings.LOGIN_ATTEMPTS_PER_IP_PER_HOUR,
        window_seconds=3600,
    ):
        raise Refused(Reason.RATE_LIMITED)
    user = user_for_login(login_id)
    if not staff_allowed(user):
        user = None
    login_password_first_step(
        login_id, password, user=user, origin=origin, channel=LoginEvent.Channel.STAFF
    )
    if not settings.STAFF_LOGIN_OTP_ENABLED:
        return LoginStarted(user)  # staff_login_complete clears the count
    login_failure_refund(login_key(login_id), origin)
    return LoginStarted(user, challenge=login_challenge_start(user))


def staff_otp_verify(challenge_id, code: str, *, origin: RequestOrigin):
    """Returns the staff account; raises Refused as login_challenge_verify."""
    return login_challenge_verify(
        challenge_id,
        code,
        origin=origin,
        allowed=staff_allowed,
        channel=LoginEvent.Channel.STAFF,
    )


def staff_otp_resend(challenge_id) -> LoginChallenge:
    return login_challenge_resend(challenge_id, allowed=staff_allowed)


def staff_login_complete(request, user, *, outcome: str = LoginEvent.Outcome.SUCCESS) -> None:
    """Logs the staff member in (see accounts.services.login.login_complete) and marks the
    session as having passed the staff login, which the admin site requires: the password and
    the mailed one-time password, or a passkey (`outcome`) in place of both."""
    login_complete(request, user, channel=LoginEvent.Channel.STAFF, outcome=outcome)
    request.session[STAFF_VERIFIED_SESSION_KEY] = str(user.pk)


def staff_second_factor_passed(request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return request.session.get(STAFF_VERIFIED_SESSION_KEY) == str(user.pk)


def staff_network_allowed(origin: RequestOrigin) -> bool:
    """Whether the staff admin answers this client address (STAFF_ALLOWED_NETWORKS; empty =
    anywhere)."""
    networks = settings.STAFF_ALLOWED_NETWORKS
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(origin.ip_key)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


# --- Console recovery (management commands) ----------------------------------------------------


def staff_second_factor_reset(user, *, operator: str) -> int:
    """Ends the staff member's open one-time-password steps (codes sent to a mailbox they cannot
    read, a step worn down by wrong tries), so the next login starts afresh. Run from the
    console; audited with the operator's name. Returns the number of steps ended. (Passkeys,
    once staff have them, are the other second factor this will reset.)"""
    with transaction.atomic():
        ended = LoginChallenge.objects.filter(
            user=user, completed_at__isnull=True, ended_at__isnull=True
        ).update(ended_at=clock.now(), end_reason="console_reset")
        audit_event_record(
            "staff.second_factor_reset",
            actor_label=operator,
            target_type="user",
            target_id=str(user.pk),
            detail={"challenges_ended": ended, "via": "console"},
        )
    return ended


def staff_login_code_issue(user, *, operator: str) -> str:
    """A one-time password for the staff member's open login step, given at the console
    instead of by mail (SMTP down): the staff member types it on the page they are on. Only
    its hash is stored; audited with the operator's name. Raises LoginChallenge.DoesNotExist
    when the staff member has no open login step (they enter their ID and password first)."""
    now = clock.now()
    with transaction.atomic():
        challenge = (
            LoginChallenge.objects.select_for_update()
            .filter(user=user, completed_at__isnull=True, ended_at__isnull=True)
            .latest("created_at")
        )
        code = otp_code_new(challenge, now)
        challenge.save(update_fields=["code_hash", "sent_at", "expires_at"])
        audit_event_record(
            "staff.login_code_issued",
            actor_label=operator,
            target_type="user",
            target_id=str(user.pk),
            detail={"via": "console"},
        )
    return code
