"""Mailed codes: the registration and password-reset key and the login one-time password. One
implementation of what every such code needs: make it, keep only its HMAC, match it in
constant time, count a wrong try, refuse a resend too soon or past its quota, and tell when its
lifetime is over. Each caller keeps only its own parameters in a `CodeRules`
(docs/architecture.md, "Mailed codes")."""

import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from django.conf import settings

from portal.core.refusal import Reason, Refused

_DIGEST_SIZE = hashlib.sha256().digest_size


@dataclass(frozen=True)
class CodeRules:
    digits: int
    lifetime: dt.timedelta
    max_wrong: int  # the wrong try that reaches this ends the code's process
    resend_cooldown: dt.timedelta
    max_resends: int | None = None  # None: no cap here (the caller caps its mails otherwise)


def code_generate(rules: CodeRules) -> str:
    """Random digits from the OS CSPRNG."""
    return f"{secrets.randbelow(10**rules.digits):0{rules.digits}d}"


def code_digest(namespace: str, subject: object, code: str) -> bytes:
    """The only form in which a code is stored: an HMAC over what it is for (`namespace`), the
    row it belongs to (`subject`) and the code, so a stored value is useless anywhere else."""
    message = f"{namespace}:{subject}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def code_matches(stored: bytes | None, namespace: str, subject: object, code: str) -> bool:
    """Whether `code` is the one whose digest is `stored`. Always computes and compares, so a
    row with no code takes the same time as one with a code."""
    candidate = code_digest(namespace, subject, code)
    padded = bytes(stored or b"\0" * _DIGEST_SIZE)
    return hmac.compare_digest(padded, candidate) and stored is not None


def code_expired(started_at: dt.datetime, rules: CodeRules, now: dt.datetime) -> bool:
    return now > started_at + rules.lifetime


def code_wrong_try(wrong_so_far: int, rules: CodeRules) -> tuple[int, int]:
    """Counts one wrong try: (the new count of wrong tries, tries left). No try left means the
    caller ends the code's process."""
    wrong = wrong_so_far + 1
    return wrong, max(rules.max_wrong - wrong, 0)


def code_resend_check(
    rules: CodeRules,
    *,
    resends: int,
    last_sent_at: dt.datetime | None,
    now: dt.datetime,
    cooldown: bool = True,
) -> None:
    """Raises Refused(RESEND_LIMIT) past the quota, Refused(RESEND_TOO_SOON, wait_seconds=…)
    within the cool-down since the last code was sent."""
    if rules.max_resends is not None and resends >= rules.max_resends:
        raise Refused(Reason.RESEND_LIMIT)
    if cooldown and last_sent_at is not None:
        ready_at = last_sent_at + rules.resend_cooldown
        if now < ready_at:
            raise Refused(
                Reason.RESEND_TOO_SOON,
                wait_seconds=math.ceil((ready_at - now).total_seconds()),
            )
