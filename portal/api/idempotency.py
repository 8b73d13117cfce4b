"""Idempotency-Key for POST: the first answer is kept per client and key, bound to a digest of
the operation and its body. The operation and the kept answer commit in one transaction, so
two concurrent requests with one key cannot both act: the second one's insert of the key fails,
its own writes roll back, and it answers what the first one kept."""

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse

from portal.api.models import IdempotencyRecord
from portal.api.problems import MEDIA_TYPE, ApiProblem, problem_response
from portal.core.clock import clock


def request_digest(request, payload) -> str:
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _response(status: int, body) -> JsonResponse:
    content_type = MEDIA_TYPE if status >= 400 else "application/json"
    return JsonResponse(body, status=status, content_type=content_type, safe=False)


def _replay(record: IdempotencyRecord, digest: str) -> JsonResponse:
    if record.request_digest != digest:
        raise ApiProblem(
            422,
            "idempotency-key-reused",
            "This Idempotency-Key was used with another request body or operation.",
        )
    response = _response(record.status_code, record.body)
    response["Idempotent-Replayed"] = "true"
    return response


def _live(client, key: str):
    cutoff = clock.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    return IdempotencyRecord.objects.filter(client=client, key=key, created_at__gte=cutoff)


def idempotent(request, key: str | None, payload, run) -> JsonResponse:
    """Answers `run()` (which returns (status, body) or raises ApiProblem) once per key."""
    if not key:
        return _call(run)[1]
    client = request.auth.client
    digest = request_digest(request, payload)
    record = _live(client, key).first()
    if record is not None:
        return _replay(record, digest)
    now = clock.now()
    try:
        with transaction.atomic():
            (status, body), response = _call(run)
            if status == 429 or status >= 500:
                return response  # not an answer: the request may be tried again
            cutoff = now - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
            IdempotencyRecord.objects.filter(client=client, key=key, created_at__lt=cutoff).delete()
            IdempotencyRecord.objects.create(
                client=client,
                key=key,
                request_digest=digest,
                status_code=status,
                body=body,
                created_at=now,
            )
    except IntegrityError:
        # A concurrent request with the same key committed first: its answer stands.
        record = _live(client, key).first()
        if record is None:
            raise
        return _replay(record, digest)
    return response


def _call(run):
    try:
        status, body = run()
        return (status, body), _response(status, body)
    except ApiProblem as exc:
        response = problem_response(
            exc.status, exc.slug, exc.detail, errors=exc.errors, headers=exc.headers
        )
        return (exc.status, json.loads(response.content)), response


def idempotency_records_purge(*, now: dt.datetime, dry_run: bool = False) -> int:
    """Deletes kept answers older than API_IDEMPOTENCY_HOURS; returns how many."""
    expired = IdempotencyRecord.objects.filter(
        created_at__lt=now - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    )
    return expired.count() if dry_run else expired.delete()[0]
