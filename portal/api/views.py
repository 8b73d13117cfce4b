"""The integration API's operations. Each one maps a request to the register's and the
accounts' services (the same ones the staff admin and the CSV import call) and their
outcomes to responses; rules live in the services."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from ninja import Header, Path, Query, Router, Status

from portal.accounts.selectors import account_status_get, mails_recent_list
from portal.accounts.services.lockout import login_lock_clear
from portal.api.auth import TokenAuth, retry_after
from portal.api.idempotency import idempotent
from portal.api.problems import ApiProblem, Problem
from portal.api.schemas import (
    NUMBER_PATTERN,
    BatchIn,
    BatchOut,
    EmailChangeIn,
    FeedPage,
    JobSeekerIn,
    JobSeekerOut,
    UnlockOut,
)
from portal.api.services import api_email_change
from portal.audit.feed import CursorExpired, cursor_of, feed_events_after, parse_cursor
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import request_origin
from portal.core.refusal import Refused
from portal.core.text import normalize_input
from portal.counter.closing import jobseeker_close, jobseeker_reopen
from portal.jobseekers.models import JobSeeker
from portal.jobseekers.services import (
    jobseeker_parse,
    jobseeker_save,
    jobseeker_upsert_batch,
)

router = Router(tags=["jobseekers"])

READ = TokenAuth("register:read")
WRITE = TokenAuth("register:write")
ERRORS = {400: Problem, 401: Problem, 403: Problem, 413: Problem, 422: Problem, 429: Problem}
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    max_length=255,
    description="Repeats of this POST with the same key and body get the first answer.",
)


def actor_label(request) -> str:
    return f"API:{request.auth.client.name}"[:150]


def field_errors(exc: DjangoValidationError) -> list[dict]:
    if hasattr(exc, "error_dict"):
        return [
            {"field": name, "message": message}
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"field": "body", "message": message} for message in exc.messages]


def _number(value: str) -> str:
    return normalize_input(value)


def _etag(jobseeker: JobSeeker) -> str:
    return f'"{jobseeker.version}"'


def _account(jobseeker: JobSeeker) -> dict:
    status = account_status_get(jobseeker)
    user = jobseeker.user
    if jobseeker.closed_at is not None:
        state = "closed"
    elif status.locked_until is not None or jobseeker.status == JobSeeker.Status.LOCKED:
        state = "locked"
    elif user is not None and user.is_active:
        state = "active"
    else:
        state = "pending"
    return {
        "state": state,
        "locked_until": status.locked_until,
        "opened_at": user.date_joined if user is not None else None,
        "last_login": status.last_login,
    }


def jobseeker_out(jobseeker: JobSeeker) -> dict:
    return {
        "number": jobseeker.number,
        "name": jobseeker.name,
        "name_kana": jobseeker.name_kana,
        "email": jobseeker.email,
        "birth_date": jobseeker.birth_date,
        "office": jobseeker.office,
        "language": jobseeker.language,
        "version": jobseeker.version,
        "account": _account(jobseeker),
        "mails": [
            {"kind": m.kind, "status": m.status, "created_at": m.created_at}
            for m in mails_recent_list(jobseeker.email)
        ],
    }


def _get(number: str) -> JobSeeker:
    jobseeker = JobSeeker.objects.select_related("user").filter(number=_number(number)).first()
    if jobseeker is None:
        raise ApiProblem(404, "not-found", "No job seeker has this number.")
    return jobseeker


# Before /jobseekers/{number}: URLs are tried in order.
_OUTCOME = {"create": "created", "update": "updated", "unchanged": "unchanged"}
_REASON_FIELD = {"duplicate_number": "number"}


@router.post(
    "/jobseekers/batch",
    auth=WRITE,
    response={200: BatchOut, **ERRORS},
    summary="Create or update up to 1,000 job seekers, with a result per row",
)
def jobseeker_batch(request, payload: BatchIn, idempotency_key: str | None = IDEMPOTENCY_KEY):
    raw_rows = [row.dict() for row in payload.rows]

    def run():
        if len(raw_rows) > settings.API_BATCH_MAX_ROWS:
            raise ApiProblem(
                413, "body-too-large", f"At most {settings.API_BATCH_MAX_ROWS} rows per batch."
            )
        today = timezone.localdate(clock.now())
        results: list[dict] = []
        records, positions = [], []
        for index, raw in enumerate(raw_rows):
            try:
                record = jobseeker_parse(raw, today=today)
            except DjangoValidationError as exc:
                results.append(_row(index, raw["number"], "rejected", field_errors(exc)))
                continue
            results.append(_row(index, record.number, "unchanged", []))
            records.append(record)
            positions.append(index)
        upsert = jobseeker_upsert_batch(
            records,
            actor_label=actor_label(request),
            origin=request_origin(request),
            source="api",
            outcomes=True,
        )
        messages = dict(upsert.rejected)
        for position, (index, outcome) in enumerate(
            zip(positions, upsert.outcomes or [], strict=True)
        ):
            if outcome.startswith("reject:"):
                field = _REASON_FIELD.get(outcome.removeprefix("reject:"), "email")
                results[index]["result"] = "rejected"
                results[index]["errors"] = [{"field": field, "message": messages[position]}]
            else:
                results[index]["result"] = _OUTCOME[outcome]
        counts = {kind: 0 for kind in ("created", "updated", "unchanged", "rejected")}
        for result in results:
            counts[result["result"]] += 1
        audit_event_record(
            "api.jobseeker_batch",
            actor_label=actor_label(request),
            target_type="api_client",
            target_id=request.auth.client.name,
            origin=request_origin(request),
            detail=counts,
        )
        return 200, {**counts, "rows": results}

    return idempotent(request, idempotency_key, {"rows": raw_rows}, run)


def _row(index: int, number: str, result: str, errors: list[dict]) -> dict:
    return {"index": index, "number": str(number)[:30], "result": result, "errors": errors}


@router.get(
    "/jobseekers/{number}",
    auth=READ,
    response={200: JobSeekerOut, 404: Problem, **ERRORS},
    summary="Read a job seeker and their account",
)
def jobseeker_read(
    request, response: HttpResponse, number: str = Path(..., pattern=NUMBER_PATTERN)
):
    jobseeker = _get(number)
    response["ETag"] = _etag(jobseeker)
    return Status(200, jobseeker_out(jobseeker))


def _if_match(request, current: JobSeeker | None) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if current is None or ("*" not in tags and _etag(current) not in tags):
        raise ApiProblem(
            412, "precondition-failed", "The record changed since the version in If-Match."
        )


@router.put(
    "/jobseekers/{number}",
    auth=WRITE,
    response={200: JobSeekerOut, 201: JobSeekerOut, 409: Problem, 412: Problem, **ERRORS},
    summary="Create or update a job seeker (idempotent)",
)
def jobseeker_put(
    request,
    response: HttpResponse,
    payload: JobSeekerIn,
    number: str = Path(..., pattern=NUMBER_PATTERN),
):
    number = _number(number)
    try:
        record = jobseeker_parse({**payload.dict(), "number": number})
    except DjangoValidationError as exc:
        raise ApiProblem(422, "validation", errors=field_errors(exc)) from None
    with transaction.atomic():
        current = JobSeeker.objects.select_for_update().filter(number=number).first()
        _if_match(request, current)
        try:
            jobseeker = jobseeker_save(
                record,
                actor_label=actor_label(request),
                origin=request_origin(request),
                source="api",
            )
        except DjangoValidationError as exc:
            slug = "conflict"
            if (
                current is not None
                and current.status != JobSeeker.Status.PENDING
                and current.email.lower() != record.email.lower()
            ):
                slug = "email-change-required"
            raise ApiProblem(409, slug, exc.messages[0]) from None
    jobseeker = JobSeeker.objects.select_related("user").get(pk=jobseeker.pk)
    response["ETag"] = _etag(jobseeker)
    return Status(201 if current is None else 200, jobseeker_out(jobseeker))


@router.post(
    "/jobseekers/{number}/close",
    auth=WRITE,
    response={200: JobSeekerOut, 404: Problem, **ERRORS},
    summary="Close a registration (no login, no registration; nothing is erased)",
)
def jobseeker_close_op(
    request,
    number: str = Path(..., pattern=NUMBER_PATTERN),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
):
    return _state_change(request, number, idempotency_key, jobseeker_close)


@router.post(
    "/jobseekers/{number}/reopen",
    auth=WRITE,
    response={200: JobSeekerOut, 404: Problem, **ERRORS},
    summary="Reopen a closed registration, as it was",
)
def jobseeker_reopen_op(
    request,
    number: str = Path(..., pattern=NUMBER_PATTERN),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
):
    return _state_change(request, number, idempotency_key, jobseeker_reopen)


def _state_change(request, number, idempotency_key, service):
    def run():
        jobseeker = _get(number)
        service(jobseeker, actor_label=actor_label(request), origin=request_origin(request))
        return 200, _json(JobSeekerOut, jobseeker_out(_get(number)))

    return idempotent(request, idempotency_key, {}, run)


def _json(schema, data) -> dict:
    return schema.model_validate(data).model_dump(mode="json")


@router.post(
    "/jobseekers/{number}/unlock",
    auth=TokenAuth("accounts:unlock"),
    response={200: UnlockOut, 404: Problem, 409: Problem, **ERRORS},
    summary="Lift the login lock of a job seeker's account (the counter's unlock)",
)
def jobseeker_unlock(
    request,
    number: str = Path(..., pattern=NUMBER_PATTERN),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
):
    def run():
        jobseeker = _get(number)
        if jobseeker.user is None:
            raise ApiProblem(409, "no-account", "There is no account to unlock.")
        locks = login_lock_clear(
            jobseeker.user,
            actor_label=actor_label(request),
            origin=request_origin(request),
            reason="api",
        )
        return 200, {"number": jobseeker.number, "locks_cleared": locks}

    return idempotent(request, idempotency_key, {}, run)


@router.post(
    "/jobseekers/{number}/email-change",
    auth=TokenAuth("accounts:email-change"),
    response={200: JobSeekerOut, 404: Problem, 409: Problem, **ERRORS},
    summary="Change the address of a job seeker (the counter's e-mail change; mails the old "
    "address)",
)
def jobseeker_email_change(
    request,
    payload: EmailChangeIn,
    number: str = Path(..., pattern=NUMBER_PATTERN),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
):
    def run():
        jobseeker = _get(number)
        try:
            api_email_change(
                request.auth.client_id,
                jobseeker,
                payload.email,
                actor_label=actor_label(request),
                origin=request_origin(request),
            )
        except Refused as refusal:
            raise ApiProblem(
                429,
                "daily-cap",
                "This client's address changes for today are used up.",
                headers={"Retry-After": retry_after(refusal.wait_seconds)},
            ) from None
        except DjangoValidationError as exc:
            status, slug = (
                (409, "conflict")
                if exc.code in ("taken", "unchanged")
                else (
                    422,
                    "validation",
                )
            )
            raise ApiProblem(
                status, slug, errors=[{"field": "email", "message": exc.messages[0]}]
            ) from None
        return 200, _json(JobSeekerOut, jobseeker_out(_get(number)))

    return idempotent(request, idempotency_key, payload.dict(), run)


@router.get(
    "/events",
    auth=READ,
    response={200: FeedPage, 410: Problem, **ERRORS},
    summary="The change feed, oldest first, paged by cursor",
    description=(
        "Events: account_opened, account_locked, account_unlocked, address_changed, closed, "
        "reopened, mail_failed (refused by SMTP or given up after retries; bounces that arrive "
        "later are not seen). Each event carries only the job seeker number, the type and the "
        "time. Pass the `next` of a page as `after` to read on: no event is ever skipped, even "
        "when transactions commit out of order, and none is shown twice. A cursor older than "
        "the retention answers 410: start again without `after`."
    ),
)
def events_list(
    request,
    after: str | None = Query(None, pattern=r"^[0-9]{1,18}\.[0-9]{1,18}$"),
    limit: int = Query(100, ge=1, le=1000),
):
    cursor = parse_cursor(after) if after else None
    try:
        events = feed_events_after(cursor, limit=limit)
    except CursorExpired:
        raise ApiProblem(410, "cursor-expired", "Start again without `after`.") from None
    return Status(
        200,
        {
            "events": [
                {"cursor": cursor_of(e), "number": e.number, "type": e.type, "time": e.created_at}
                for e in events
            ],
            "next": cursor_of(events[-1]) if events else after,
        },
    )
