"""RFC 9457 problem details: every error of the API is `application/problem+json` with a
stable `type` per problem and, for bad input, one entry per field."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:mypage:api:problem:"

TITLES = {
    "unauthorized": "Authentication required",
    "forbidden": "Insufficient scope",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "malformed-body": "Malformed request body",
    "body-too-large": "Request body too large",
    "validation": "Invalid input",
    "conflict": "Refused by the register's rules",
    "email-change-required": "The account is open: change its address by e-mail change",
    "closed": "The job seeker's registration is closed",
    "precondition-failed": "Stale version",
    "idempotency-key-reused": "Idempotency-Key reused with another request",
    "rate-limited": "Too many requests",
    "cursor-expired": "Cursor older than the feed's retention",
    "daily-cap": "Daily cap reached",
    "no-account": "The job seeker has not opened a My Page account",
    "server-error": "Server error",
}


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    def __init__(self, status: int, slug: str, detail: str = "", *, errors=None, headers=None):
        super().__init__(slug)
        self.status, self.slug, self.detail = status, slug, detail
        self.errors = errors
        self.headers = headers or {}


def problem_response(status: int, slug: str, detail: str = "", *, errors=None, headers=None):
    body = {"type": TYPE_PREFIX + slug, "title": TITLES[slug], "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc) -> str:
    # ninja reports ("body", "payload", "name"); the client knows the field as "name".
    parts = [str(p) for p in loc if p not in ("body", "payload", "path", "query", "header")]
    return ".".join(parts) or "body"


def install(api) -> None:
    @api.exception_handler(ApiProblem)
    def _problem(request, exc: ApiProblem):
        return problem_response(
            exc.status, exc.slug, exc.detail, errors=exc.errors, headers=exc.headers
        )

    @api.exception_handler(ValidationError)
    def _validation(request, exc: ValidationError):
        errors = [
            {"field": _field_name(e.get("loc", ())), "message": str(e.get("msg", ""))[:300]}
            for e in exc.errors
        ]
        return problem_response(422, "validation", errors=errors)

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request, exc):
        return problem_response(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        return problem_response(413, "body-too-large")

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, RequestDataTooBig):
            return problem_response(413, "body-too-large")
        if exc.status_code == 400:
            return problem_response(400, "malformed-body", "The body is not JSON (UTF-8).")
        slug = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
        return problem_response(exc.status_code, slug.get(exc.status_code, "validation"))

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return problem_response(404, "not-found")

    @api.exception_handler(Exception)
    def _server_error(request, exc):
        logger.exception("API error", extra={"path": request.path})
        return problem_response(500, "server-error")
