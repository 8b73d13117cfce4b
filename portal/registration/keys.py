"""Auth keys: random digits from the OS CSPRNG, kept only as an HMAC over purpose, flow and
key, so a stored value is useless for any other flow and reveals nothing. A key works while
its mail may have reached its owner, for AUTH_KEY_LIFETIME_MINUTES from the mail's first
hand-over to SMTP."""

import datetime as dt
import hashlib
import hmac
import re
import secrets

from django.conf import settings

from portal.core.text import normalize_input
from portal.mail.models import OutboundMail

# Spaces, hyphens and dash-like marks people type or paste between digit groups.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー]")


def key_generate() -> str:
    digits = settings.AUTH_KEY_DIGITS
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def key_normalize(text: str) -> str:
    return _SEPARATORS.sub("", normalize_input(text))


def key_digest(purpose: str, flow_id: int, key: str) -> bytes:
    message = f"auth-key:{purpose}:{flow_id}:{key}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def key_matches(stored: bytes | None, purpose: str, flow_id: int, key: str) -> bool:
    # Always compute and compare, so a flow with no key takes the same time as one with a key.
    candidate = key_digest(purpose, flow_id, key)
    return hmac.compare_digest(bytes(stored or b"\0" * 32), candidate) and stored is not None


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
