"""The counter register. Every way of registering a job seeker (command, CSV import, admin,
API) goes through `jobseeker_parse` and `jobseeker_upsert_batch`.

The rules of an upsert batch, checked in this order for each record (the first that fails is
the reason given):

1. a job seeker number met earlier in the same batch is refused (the first occurrence counts);
2. an e-mail address held in the register by another job seeker is refused;
3. changing the e-mail address of an account already opened (status not pending) is refused;
4. an e-mail address already claimed by an earlier accepted record of the batch is refused.

A record that passes is created (new number), unchanged (same values; e-mail compared without
regard to case) or updated (only the fields that differ). Facts about the register are those
at the start of the batch, under row locks. On PostgreSQL large batches take a COPY-based path
(`_upsert_batch_copy`) that applies the same rules in SQL and gives the same results; the tests
run on both paths.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from portal.audit.feed import feed_event_record
from portal.audit.models import AuditEvent
from portal.audit.services import audit_event_build, audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.jobseekers.models import JobSeeker
from portal.jobseekers.parsing import FIELDS, JobSeekerRecord, jobseeker_parse
from portal.jobseekers.upsert_sql import PG_DECIDE, PG_LOCK, PG_SETUP, PG_WRITE

# Fields an upsert may change, in the order audit events list them.
_MUTABLE_FIELDS = ("name", "name_kana", "email", "birth_date", "office", "language")

# On PostgreSQL, batches of at least this many records go through COPY and set-based SQL.
POSTGRES_COPY_MIN_ROWS = 200
# Lookups with IN (...) are split so no query exceeds a backend's parameter limit.
_LOOKUP_CHUNK = 2000


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (index in the batch, message) for each record that was refused, in batch order
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # Per record, in batch order: "create", "update", "unchanged" or "reject:<reason>"; filled
    # when the caller asks for it (jobseeker_upsert_batch(outcomes=True)).
    outcomes: list[str] | None = None


# Reasons a record is refused, in the order the rules are checked.
REJECT_DUPLICATE_NUMBER = "duplicate_number"
REJECT_EMAIL_TAKEN = "email_taken"
REJECT_EMAIL_LOCKED = "email_locked"
REJECT_EMAIL_CLAIMED = "email_claimed"


def _reject_message(reason: str, record: JobSeekerRecord, other: str | None) -> str:
    if reason == REJECT_DUPLICATE_NUMBER:
        return _("求職番号 %(number)s が同じ取込み内で重複しています。") % {"number": record.number}
    if reason == REJECT_EMAIL_TAKEN:
        return _("メールアドレス %(email)s は別の求職者（%(owner)s）に登録済みです。") % {
            "email": record.email,
            "owner": other,
        }
    if reason == REJECT_EMAIL_LOCKED:
        return _("マイページ開設済みの求職者（%(number)s）のメールアドレスは変更できません。") % {
            "number": record.number
        }
    if reason == REJECT_EMAIL_CLAIMED:
        return _(
            "メールアドレス %(email)s は同じ取込み内の別の求職者（%(owner)s）と重複しています。"
        ) % {"email": record.email, "owner": other}
    raise ValueError(reason)


def _changed_fields(existing: JobSeeker, record: JobSeekerRecord) -> list[str]:
    changed = []
    for name in _MUTABLE_FIELDS:
        old = getattr(existing, name)
        new = getattr(record, name)
        if name == "language" and not new:
            continue
        if name == "email":
            if old.lower() != new.lower():
                changed.append(name)
        elif old != new:
            changed.append(name)
    return changed


@dataclass(slots=True)
class _Decision:
    action: str  # "create" | "update" | "unchanged" | "reject"
    changed: list[str] | None = None
    reason: str | None = None
    other: str | None = None


def _decide(
    records: list[JobSeekerRecord],
    existing: Mapping[str, JobSeeker],
    owners: Mapping[str, str],
) -> list[_Decision]:
    """The rules of the module docstring, applied to a batch; `existing` maps number to the
    job seeker, `owners` maps a lower-cased e-mail to the number holding it."""
    decisions = []
    seen_numbers: set[str] = set()
    claimed: dict[str, str] = {}
    for record in records:
        if record.number in seen_numbers:
            decisions.append(_Decision("reject", reason=REJECT_DUPLICATE_NUMBER))
            continue
        seen_numbers.add(record.number)
        email_key = record.email.lower()
        owner = owners.get(email_key)
        if owner is not None and owner != record.number:
            decisions.append(_Decision("reject", reason=REJECT_EMAIL_TAKEN, other=owner))
            continue
        current = existing.get(record.number)
        changed = _changed_fields(current, record) if current is not None else None
        if changed and "email" in changed and current.status != JobSeeker.Status.PENDING:
            decisions.append(_Decision("reject", reason=REJECT_EMAIL_LOCKED))
            continue
        claimant = claimed.get(email_key)
        if claimant is not None:
            decisions.append(_Decision("reject", reason=REJECT_EMAIL_CLAIMED, other=claimant))
            continue
        claimed[email_key] = record.number
        if current is None:
            decisions.append(_Decision("create"))
        elif changed:
            decisions.append(_Decision("update", changed=changed))
        else:
            decisions.append(_Decision("unchanged"))
    return decisions


def _chunks(items: list, size: int = _LOOKUP_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_facts(records: list[JobSeekerRecord], *, lock: bool):
    numbers = list(dict.fromkeys(r.number for r in records))
    emails = list(dict.fromkeys(r.email.lower() for r in records))
    existing: dict[str, JobSeeker] = {}
    owners: dict[str, str] = {}
    queryset = JobSeeker.objects.select_for_update() if lock else JobSeeker.objects.all()
    for chunk in _chunks(numbers):
        existing.update((js.number, js) for js in queryset.filter(number__in=chunk))
    for chunk in _chunks(emails):
        rows = JobSeeker.objects.filter(email__lower__in=chunk).values_list("email", "number")
        owners.update((email.lower(), number) for email, number in rows)
    return existing, owners


def _result(records, decisions, outcomes=False) -> UpsertResult:
    result = UpsertResult()
    if outcomes:
        result.outcomes = [
            d.action if d.action != "reject" else f"reject:{d.reason}" for d in decisions
        ]
    for index, (record, decision) in enumerate(zip(records, decisions, strict=True)):
        if decision.action == "create":
            result.created += 1
        elif decision.action == "update":
            result.updated += 1
        elif decision.action == "unchanged":
            result.unchanged += 1
        else:
            result.rejected.append(
                (index, _reject_message(decision.reason, record, decision.other))
            )
    return result


def jobseeker_upsert_batch(
    records: Iterable[JobSeekerRecord],
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
    source: str = "",
    outcomes: bool = False,
) -> UpsertResult:
    """Creates or updates job seekers by number in one transaction, by the rules of the module
    docstring; refused records are reported, the others written. Each created or changed job
    seeker gets an audit event (field names only, never values). With `outcomes`, the result
    says what became of each record."""
    records = list(records)
    if not records:
        return UpsertResult()
    if connection.vendor == "postgresql" and len(records) >= POSTGRES_COPY_MIN_ROWS:
        return _upsert_batch_copy(
            records,
            actor=actor,
            actor_label=actor_label,
            origin=origin,
            source=source,
            outcomes=outcomes,
        )
    return _upsert_batch_orm(
        records,
        actor=actor,
        actor_label=actor_label,
        origin=origin,
        source=source,
        outcomes=outcomes,
    )


def _upsert_batch_orm(
    records, *, actor, actor_label, origin, source, outcomes=False
) -> UpsertResult:
    now = clock.now()
    with transaction.atomic():
        existing, owners = _load_facts(records, lock=True)
        decisions = _decide(records, existing, owners)
        decisions_by_number = {
            r.number: d for r, d in zip(records, decisions, strict=True) if d.action == "update"
        }
        to_create, to_update, events = [], [], []
        update_fields: set[str] = set()
        for record, decision in zip(records, decisions, strict=True):
            if decision.action == "create":
                to_create.append(
                    JobSeeker(
                        **{name: getattr(record, name) for name in FIELDS if name != "language"},
                        language=record.language or settings.LANGUAGE_CODE,
                        created_at=now,
                        updated_at=now,
                    )
                )
                detail = {"source": source}
            elif decision.action == "update":
                current = existing[record.number]
                for name in decision.changed:
                    setattr(current, name, getattr(record, name))
                current.updated_at = now
                current.version += 1
                update_fields.update(decision.changed)
                to_update.append(current)
                detail = {"source": source, "fields": decision.changed}
            else:
                continue
            events.append(
                audit_event_build(
                    f"jobseeker.{decision.action}d",
                    actor=actor,
                    actor_label=actor_label,
                    target_type="jobseeker",
                    target_id=record.number,
                    origin=origin,
                    detail=detail,
                )
            )
        if to_create:
            JobSeeker.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            JobSeeker.objects.bulk_update(
                to_update, [*sorted(update_fields), "updated_at", "version"], batch_size=500
            )
        if events:
            AuditEvent.objects.bulk_create(events, batch_size=500)
        for current in to_update:
            if "email" in decisions_by_number[current.number].changed:
                feed_event_record("address_changed", number=current.number)
    return _result(records, decisions, outcomes)


# --- PostgreSQL: COPY into a staging table, then the same rules in set-based SQL ---------------


def _upsert_batch_copy(
    records, *, actor, actor_label, origin, source, outcomes=False
) -> UpsertResult:
    template = audit_event_build(
        "jobseeker.created", actor=actor, actor_label=actor_label, origin=origin, detail={}
    )
    params = {
        "now": clock.now(),
        "actor_id": template.actor_id,
        "actor_label": template.actor_label,
        "ip": template.ip,
        "source": source,
        "default_language": settings.LANGUAGE_CODE,
    }
    copy_sql = (
        "COPY jobseeker_upsert_stage"
        " (idx, number, name, name_kana, email, birth_date, office, language) FROM STDIN"
    )
    # Few round trips: a writer thread waits for the interpreter lock after each one.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PG_SETUP)
        with cursor.copy(copy_sql) as copy:
            for index, r in enumerate(records):
                copy.write_row(
                    (
                        index,
                        r.number,
                        r.name,
                        r.name_kana,
                        r.email,
                        r.birth_date,
                        r.office,
                        r.language,
                    )
                )
        cursor.execute(PG_LOCK + ";\n" + PG_DECIDE)
        cursor.execute(PG_WRITE, params)
        rows = cursor.fetchall()
        counts = {kind.removeprefix("count:"): n for kind, n, _r, _o in rows if kind != "reject"}
        planned = counts.get("create", 0) + counts.get("update", 0)
        if counts["written"] != planned:
            # A concurrent change slipped in between deciding and writing: undo the batch.
            raise RuntimeError("jobseeker rows changed during the upsert; retry the batch")
        if outcomes:
            cursor.execute(
                "SELECT CASE WHEN action = 'reject' THEN 'reject:' || reason ELSE action END"
                " FROM jobseeker_upsert_plan ORDER BY idx"
            )
            planned_outcomes = [row[0] for row in cursor.fetchall()]
    result = UpsertResult(
        created=counts.get("create", 0),
        updated=counts.get("update", 0),
        unchanged=counts.get("unchanged", 0),
        outcomes=planned_outcomes if outcomes else None,
    )
    for _action, index, reason, other in sorted(r for r in rows if r[0] == "reject"):
        result.rejected.append((index, _reject_message(reason, records[index], other)))
    return result


def jobseeker_check(record: JobSeekerRecord, *, creating: bool = False) -> str | None:
    """Why writing `record` now would be refused (the rules above, nothing written), or None.
    With `creating`, an existing number is refused too (adding, not updating)."""
    existing, owners = _load_facts([record], lock=False)
    if creating and record.number in existing:
        return _("求職番号 %(number)s の求職者は既に登録されています。") % {"number": record.number}
    decision = _decide([record], existing, owners)[0]
    if decision.action == "reject":
        return _reject_message(decision.reason, record, decision.other)
    return None


def jobseeker_register(
    raw: Mapping[str, object],
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
    source: str = "",
) -> JobSeeker:
    """Registers (or updates) one job seeker; raises ValidationError with the reason."""
    record = jobseeker_parse(raw)
    return jobseeker_save(
        record, actor=actor, actor_label=actor_label, origin=origin, source=source
    )


def jobseeker_save(
    record: JobSeekerRecord,
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
    source: str = "",
) -> JobSeeker:
    """Writes one parsed record; raises ValidationError with the reason it was refused."""
    result = jobseeker_upsert_batch(
        [record], actor=actor, actor_label=actor_label, origin=origin, source=source
    )
    if result.rejected:
        raise ValidationError(result.rejected[0][1])
    return JobSeeker.objects.get(number=record.number)


def jobseeker_delete(
    jobseeker: JobSeeker, *, actor=None, actor_label: str = "", origin: RequestOrigin = NO_REQUEST
) -> None:
    """Removes a job seeker from the register, with an audit event."""
    with transaction.atomic():
        audit_event_record(
            "jobseeker.deleted",
            actor=actor,
            actor_label=actor_label,
            target_type="jobseeker",
            target_id=jobseeker.number,
            origin=origin,
            detail={"status": jobseeker.status},
        )
        jobseeker.delete()
