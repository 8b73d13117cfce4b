"""The client's address. X-Forwarded-For is believed only when the direct peer is one of
settings.TRUSTED_PROXIES, so a client cannot choose the address its limits are keyed on.

Every hop is parsed as an address: `ip`, `ip:port`, `[v6]` and `[v6]:port`, with surrounding
spaces. A hop that is not an address makes the header worthless, and the connecting address is
used instead. What this returns is always a valid address in its canonical form, so it can go
to an inet column, a log line or a rate-limit key as it is."""

import ipaddress
import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_UNSPECIFIED = "0.0.0.0"  # noqa: S104 - a placeholder address, never bound to
_WARN_EVERY_SECONDS = 60.0
_warn_lock = threading.Lock()
_warned_at: float | None = None

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(value: str) -> Address | None:
    """The address in `value` (`ip`, `ip:port`, `[v6]`, `[v6]:port`, spaces around), or None
    when it is not one. IPv6 zone ids (`fe80::1%eth0`) are refused: they are no use outside
    the host and PostgreSQL's inet does not take them."""
    text = value.strip()
    if text.startswith("["):
        text, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _is_port(rest[1:]))):
            return None
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has two colons or more
        text, _colon, port = text.partition(":")
        if not _is_port(port):
            return None
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_port(port: str) -> bool:
    return port.isascii() and port.isdigit() and int(port) <= 65535


def _is_trusted(ip: Address) -> bool:
    for entry in settings.TRUSTED_PROXIES:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _warn_unparsable(header: str) -> None:
    """Logs a forwarded header that is not a list of addresses, at most once a minute: a
    misconfigured proxy sends the same thing with every request."""
    global _warned_at
    now = time.monotonic()
    with _warn_lock:
        if _warned_at is not None and now - _warned_at < _WARN_EVERY_SECONDS:
            return
        _warned_at = now
    logger.warning(
        "X-Forwarded-For from a trusted proxy is not a list of addresses; "
        "using the connecting address",
        extra={"x_forwarded_for": header[:200]},
    )


def client_ip(request) -> str:
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return _UNSPECIFIED
    if not settings.TRUSTED_PROXIES or not _is_trusted(remote):
        return str(remote)
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = []
    for part in header.split(","):
        if not part.strip():
            continue
        hop = parse_address(part)
        if hop is None:
            _warn_unparsable(header)
            return str(remote)
        hops.append(hop)
    # Walk from the nearest hop outwards, skipping our own proxies.
    for hop in reversed(hops):
        if not _is_trusted(hop):
            return str(hop)
    return str(remote)
