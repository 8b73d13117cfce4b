"""Auth keys: random digits from the OS CSPRNG, kept only as an HMAC over purpose, flow and
key, so a stored value is useless for any other flow and reveals nothing."""

import hashlib
import hmac
import re
import secrets

from django.conf import settings

from portal.core.text import normalize_input

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
