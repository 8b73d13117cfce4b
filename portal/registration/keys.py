"""What is particular to the registration and reset key (the code itself, its HMAC, matching,
tries, resends and expiry are portal/core/mailed_codes.py): how a typed key is normalised, and
the handed_over_at rule. A key works while its mail may have reached its owner, for
AUTH_KEY_LIFETIME_MINUTES from the mail's first hand-over to SMTP (docs/architecture.md,
"Mailed codes")."""

import datetime as dt
import re

from portal.core.text import normalize_input
from portal.mail.models import OutboundMail

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
