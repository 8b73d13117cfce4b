"""The service's own error pages (config/urls.py's handler400/403/404/500) and the page for a
database that cannot be reached.

Django's default handlers are decorated with `requires_csrf_token`, which runs the CSRF check
again on the failed request; when that request's body cannot be read (a form declaring a
charset other than UTF-8, with a CSRF cookie present), the check raises the same BadRequest
inside the handler, and the request ends as a bare 500 outside every middleware. These
handlers never read the request's body, so every bad request gets its page, its status and,
on the way out through the middleware, the security headers and the request id."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from prometheus_client import Counter

from portal.core.site import site_text

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait while the database cannot be reached.
RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
# Here rather than with the other metrics in portal.ops.metrics, so that core imports nothing
# from an app above it; it goes to the same default registry.
DATABASE_UNAVAILABLE = Counter(
    "mypage_http_database_unavailable",
    "Requests answered 503 because the database could not be reached.",
)


def csrf_failure(request, reason=""):
    """A Japanese page for a rejected form (expired page, back button, cookies off)."""
    return render(request, "403_csrf.html", status=403)


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    """The 500 page, or the 503 page when the error is the database being unreachable (an
    error raised outside a view, in a middleware, comes here rather than to
    DatabaseUnavailableMiddleware). Rendered without the request's context: nothing here may
    fail in turn."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
        return database_unavailable(request, exception)
    try:
        return HttpResponseServerError(loader.get_template("500.html").render())
    except Exception:
        logger.exception("the 500 page could not be rendered")
        return HttpResponseServerError(_("ただいま処理できません。"), content_type="text/plain")


def database_unavailable(request, exception: Exception) -> HttpResponse:
    """503 with Retry-After: the service is briefly unavailable. Rendered without the
    request's context processors (the messages could read the session, and so the
    database)."""
    DATABASE_UNAVAILABLE.inc()
    logger.error(
        "database unavailable; answered 503",
        extra={"error": type(exception).__name__, "detail": str(exception)[:300]},
    )
    try:
        content = loader.get_template("503.html").render({"SITE_NAME": site_text("SITE_NAME")})
        response = HttpResponse(content, status=503)
    except Exception:
        logger.exception("the 503 page could not be rendered")
        response = HttpResponse(
            _(
                "ただいまサービスを一時的に利用できません。しばらくしてから、もう一度お試しください。"
            ),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
