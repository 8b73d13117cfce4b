"""What is particular to the registration and reset key (the code itself, its HMAC, matching,
tries, resends and expiry are portal/core/mailed_codes.py): how a typed key is normalised, and
the handed_over_at rule. A key works while its mail may have reached its owner, for
AUTH_KEY_LIFETIME_MINUTES from the mail's first hand-over to SMTP (docs/architecture.md,
"Mailed codes")."""

import datetime as dt
import re

from django.conf import settings

from portal.core.mailed_codes import CodeRules, code_expired, code_matches
from portal.core.text import normalize_input
from portal.mail.models import OutboundMail
from portal.registration.models import RegistrationFlow

# Spaces, hyphens and dash-like marks people type or paste between digit groups.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー]")


def key_normalize(text: str) -> str:
    return _SEPARATORS.sub("", normalize_input(text))


def key_mail_may_have_arrived(mail: OutboundMail) -> bool:
    """Whether a key's mail may have reached its owner, so that the key may complete the flow:
    it is being sent, or an attempt that may have reached the owner was recorded (it was sent,
    or its SMTP answer was lost and the mail is queued again or failed after its retries).
    A capped, suppressed or superseded mail never reached anyone."""
    Status = OutboundMail.Status
    if mail.status == Status.SENDING:
        return True
    reached = mail.handed_over_at is not None
    return reached and mail.status in (Status.SENT, Status.QUEUED, Status.FAILED)


def key_started_at(mail: OutboundMail, now: dt.datetime) -> dt.datetime:
    """When a key's lifetime started: its mail's first recorded hand-over to SMTP (the time the
    worker wrote the deadline from), or with none recorded yet, now: the right key arriving
    proves the mail reached its owner."""
    return mail.handed_over_at or now


def key_rules() -> CodeRules:
    # Read at each use: the settings may differ per test and per deployment.
    return CodeRules(
        digits=settings.AUTH_KEY_DIGITS,
        lifetime=dt.timedelta(minutes=settings.AUTH_KEY_LIFETIME_MINUTES),
        max_wrong=settings.FLOW_MAX_WRONG_KEYS,
        resend_cooldown=dt.timedelta(seconds=settings.FLOW_RESEND_COOLDOWN_SECONDS),
        max_resends=settings.FLOW_MAX_RESENDS,
    )


def key_namespace(flow: RegistrationFlow) -> str:
    return f"auth-key:{flow.purpose}"


def key_state(flow: RegistrationFlow, key: str, now: dt.datetime) -> tuple[bool, bool]:
    """(the key is this flow's current key and its mail may have reached its owner, that key's
    time is over).

    A key whose mail was capped, suppressed or superseded never works: nobody was sent it. A
    right key works while its mail is still being sent, or queued again after an SMTP answer
    that was lost: only the mail's recipient can have it, so this reveals nothing."""
    mail = flow.key_mail
    # Computed for every flow.
    matches = code_matches(flow.key_hash, key_namespace(flow), flow.pk, key)
    real = matches and flow.jobseeker_id is not None and mail is not None
    usable = real and key_mail_may_have_arrived(mail)
    return usable, usable and code_expired(key_started_at(mail, now), key_rules(), now)
