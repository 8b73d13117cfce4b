"""The client's address. X-Forwarded-For is believed only when the direct peer is one of
settings.TRUSTED_PROXIES, so a client cannot choose the address its limits are keyed on."""

import ipaddress

from django.conf import settings


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.TRUSTED_PROXIES:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104
    if not settings.TRUSTED_PROXIES or not _is_trusted(remote):
        return remote
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    # Walk from the nearest hop outwards, skipping our own proxies.
    for hop in reversed([p for p in forwarded if p]):
        if not _is_trusted(hop):
            return hop
    return remote
