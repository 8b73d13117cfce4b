"""Health, readiness and metrics. Plain responses, no templates, no session."""

import hmac
import ipaddress
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from portal.core.client_ip import client_ip
from portal.ops.metrics import metrics_exposition

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """The process is up and serving requests; says nothing about its dependencies (a
    liveness probe must not restart every server when the database blinks)."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # Drop the broken connection now so the next request opens a new one.
        connection.close()
        raise


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    found = cache.get(key)
    cache.delete(key)
    if found != "1":
        raise RuntimeError("cache did not return what was stored")


@never_cache
@require_GET
def readyz(request):
    """Ready to take traffic: the database and the cache answer. 503 otherwise, naming the
    failing dependency and the error's class only."""
    checks = {}
    for name, check in (("database", _check_database), ("cache", _check_cache)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks[name] = f"error: {type(exc).__name__}"
            logger.warning("readiness check failed", extra={"check": name, "error": repr(exc)})
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503
    )


def _ip_allowed(request) -> bool:
    # Behind a proxy that is not in TRUSTED_PROXIES the peer address is the proxy's, perhaps
    # loopback: an address allow-list would let the whole internet in. Forwarded requests
    # from untrusted peers need the token.
    if request.META.get("HTTP_X_FORWARDED_FOR") and client_ip(request) == request.META.get(
        "REMOTE_ADDR"
    ):
        return False
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _token_ok(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@never_cache
@require_GET
def metrics(request):
    """Prometheus exposition, for a bearer token (METRICS_TOKEN) or an allow-listed address
    (METRICS_ALLOWED_IPS, loopback by default)."""
    if not (_token_ok(request) or _ip_allowed(request)):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
