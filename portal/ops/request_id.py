"""The request id: taken from a sane X-Request-ID header (set by a load balancer) or made
here, kept in a context variable for the request's duration, put into every log record by
`RequestIdFilter`, and returned in the response's X-Request-ID header."""

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
# Letters, digits and a few separators, 8 to 128 characters: enough for UUIDs and the ids of
# common load balancers, and nothing that could forge a log line or a header.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{7,127}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def request_id_from_header(value: str | None) -> str:
    """The caller's id when it is sane, else a new random one."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


def request_id_get() -> str:
    return _current.get()


def request_id_set(value: str) -> None:
    _current.set(value)


def request_id_clear(**kwargs) -> None:
    """request_finished receiver: records after the response belong to no request."""
    _current.set("-")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record ('-' outside a request: the mail worker, commands)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True
