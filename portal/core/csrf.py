"""The CSRF token a page shows: Django's masked form of the secret (a random mask, then the
secret shifted by it), with the mask drawn from one read of the system's random source.

Django's get_token draws the mask's 32 characters one by one, one read of the random source
each, which was a tenth of a form page's rendering. The token it gives is the same kind:
CsrfViewMiddleware takes it back the same way (tests/test_csrf.py)."""

import secrets

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.utils.functional import SimpleLazyObject

_INDEX = {char: index for index, char in enumerate(CSRF_ALLOWED_CHARS)}
_BASE = len(CSRF_ALLOWED_CHARS)
# Bytes at or above this would favour the alphabet's first characters: they are skipped.
_UNBIASED_BELOW = 256 - 256 % _BASE


def _random_chars(count: int) -> str:
    chars: list[str] = []
    while len(chars) < count:
        chars += (
            CSRF_ALLOWED_CHARS[b % _BASE]
            for b in secrets.token_bytes(count + 8)
            if b < _UNBIASED_BELOW
        )
    return "".join(chars[:count])


def _masked(secret: str) -> str:
    mask = _random_chars(CSRF_SECRET_LENGTH)
    cipher = "".join(
        CSRF_ALLOWED_CHARS[(_INDEX[s] + _INDEX[m]) % _BASE]
        for s, m in zip(secret, mask, strict=True)
    )
    return mask + cipher


def csrf_token_for(request) -> str:
    """As django.middleware.csrf.get_token."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        return get_token(request)  # no secret yet: Django makes one and sets its cookie
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # renew the cookie, as get_token does
    return _masked(secret)


def csrf(request):
    """Context processor, after Django's own csrf one: `csrf_token`, made when first used."""
    return {"csrf_token": SimpleLazyObject(lambda: csrf_token_for(request))}
