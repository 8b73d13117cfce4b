"""First in MIDDLEWARE: gives each request its id, times it, counts it for /metrics and
writes one JSON access-log line (method, path without query string, status, view, time, and
the CPU time the request took in this worker: with the time, it tells a slow database or a
queue from work done here). A view that fails because the database cannot be reached gets the
503 page (portal.core.views.database_unavailable) instead of a 500."""

import logging
import time

from django.conf import settings

from portal.core.views import DATABASE_UNAVAILABLE_ERRORS, database_unavailable
from portal.ops.metrics import HTTP_LATENCY, HTTP_REQUESTS
from portal.ops.request_id import HEADER, request_id_from_header, request_id_set

access_log = logging.getLogger("portal.access")

_META_HEADER = "HTTP_" + HEADER.upper().replace("-", "_")


def _view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or "unnamed"
    static_url = settings.STATIC_URL or "/static/"
    if request.path_info.startswith(static_url):
        return "static"  # served by whitenoise before URL resolution
    return "unmatched"  # 404s: never the raw path, which would make labels unbounded


class ObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.log_requests = getattr(settings, "ACCESS_LOG", True)

    def __call__(self, request):
        started = time.perf_counter()
        cpu_started = time.thread_time()
        request_id = request_id_from_header(request.META.get(_META_HEADER))
        request.request_id = request_id
        # Kept after this middleware returns, for django.request's log line of a 4xx/5xx
        # (written outside the middleware chain); request_finished clears it.
        request_id_set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        elapsed = time.perf_counter() - started
        view = _view_label(request)
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(view, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(view, method).observe(elapsed)
        if self.log_requests:
            access_log.info(
                "request",
                extra={
                    "method": method,
                    "path": request.path[:300],
                    "status": response.status_code,
                    "view": view,
                    "duration_ms": round(elapsed * 1000, 2),
                    "cpu_ms": round((time.thread_time() - cpu_started) * 1000, 2),
                },
            )
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            return None
        return database_unavailable(request, exception)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
