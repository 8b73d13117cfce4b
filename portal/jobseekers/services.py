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

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.feed import feed_event_record
from portal.audit.models import AuditEvent
from portal.audit.services import audit_event_build, audit_event_record
from portal.core.clock import clock
from portal.core.text import normalize_input, to_katakana
from portal.jobseekers.models import JOB_SEEKER_NUMBER_PATTERN, JobSeeker

_NUMBER_RE = re.compile(JOB_SEEKER_NUMBER_PATTERN)
_DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_HALF_WIDTH_EMAIL_RE = re.compile(r"^[\x21-\x7e]+$")
EMAIL_MAX_LENGTH = 100
TEXT_MAX_LENGTH = 100
FIELDS = ("number", "name", "name_kana", "email", "birth_date", "office", "language")
# Fields an upsert may change, in the order audit events list them.
_MUTABLE_FIELDS = ("name", "name_kana", "email", "birth_date", "office", "language")

# On PostgreSQL, batches of at least this many records go through COPY and set-based SQL.
POSTGRES_COPY_MIN_ROWS = 200
# Lookups with IN (...) are split so no query exceeds a backend's parameter limit.
_LOOKUP_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class JobSeekerRecord:
    number: str
    name: str
    name_kana: str
    email: str
    birth_date: dt.date
    office: str = ""
    # The job seeker's own language; "" (not given) keeps the one on the register.
    language: str = ""


_EMAIL_VALIDATOR = EmailValidator()  # what django.core.validators.validate_email is
_EMAIL_USER_RE = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)


@functools.lru_cache(maxsize=4096)
def _email_domain_valid(domain: str) -> bool:
    return domain in _EMAIL_VALIDATOR.domain_allowlist or bool(
        _EMAIL_VALIDATOR.validate_domain_part(domain)
    )


def email_valid(value: str) -> bool:
    """Exactly django.core.validators.validate_email's verdict (the same steps and regular
    expressions), with each domain's verdict remembered: an import of a million rows meets
    the same few domains a million times. A test compares the two."""
    if not value or "@" not in value or len(value) > 320:
        return False
    user_part, domain_part = value.rsplit("@", 1)
    return bool(_EMAIL_USER_RE.match(user_part)) and _email_domain_valid(domain_part)


def _normalize(value: object) -> str:
    """normalize_input, with a shortcut for ASCII text (NFKC leaves ASCII unchanged)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isascii():
        return text.strip()
    return normalize_input(text)


def _today() -> dt.date:
    return timezone.localdate(clock.now())


def parse_birth_date(value: str, *, today: dt.date | None = None) -> dt.date:
    """A real date after 1900 and before today; 1990-04-01 or 1990/4/1."""
    text = _normalize(value)
    match = _DATE_RE.match(text)
    if not match:
        raise ValidationError(
            _("生年月日は西暦の年-月-日で入力してください（例：1990-04-01）。"), code="format"
        )
    year, month, day = match.groups()
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValidationError(
            _("生年月日「%(value)s」は存在しない日付です。") % {"value": text}, code="invalid"
        ) from None
    if today is None:
        today = _today()
    if date.year <= 1900 or date >= today:
        raise ValidationError(
            _("生年月日は1901年以降、今日より前の日付を入力してください。"), code="range"
        )
    return date


def parse_email(value: str) -> str:
    """The address normalised as normalize_email does (NFKC, no spaces, lower case), validated."""
    email = "".join(_normalize(value).split()).lower()
    if not email:
        raise ValidationError(_("メールアドレスを入力してください。"), code="required")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            _("メールアドレスは%(max)d文字以内で入力してください。") % {"max": EMAIL_MAX_LENGTH},
            code="max_length",
        )
    if not _HALF_WIDTH_EMAIL_RE.match(email):
        raise ValidationError(
            _("メールアドレスは半角英数字と記号で入力してください。"), code="not_ascii"
        )
    if not email_valid(email):
        raise ValidationError(
            _("メールアドレスの形式が正しくありません（例：taro@example.jp）。"), code="invalid"
        )
    return email


def _text_error(label: str, value: str) -> str | None:
    if not value:
        return _("%(label)sを入力してください。") % {"label": label}
    if len(value) > TEXT_MAX_LENGTH:
        return _("%(label)sは100文字以内で入力してください。") % {"label": label}
    return None


def jobseeker_parse(raw: Mapping[str, object], *, today: dt.date | None = None) -> JobSeekerRecord:
    """Normalises (NFKC, trimmed) and validates one job seeker; raises ValidationError whose
    message_dict names each bad field. Pass `today` when parsing many rows."""
    number = _normalize(raw.get("number"))
    name = _normalize(raw.get("name"))
    # 氏名（カナ） accepts hiragana and is stored in katakana.
    name_kana = to_katakana(_normalize(raw.get("name_kana")))
    office = _normalize(raw.get("office"))
    language = _normalize(raw.get("language")).lower()
    errors: dict[str, list[str]] = {}
    if not _NUMBER_RE.match(number):
        errors["number"] = [
            _("求職番号は「5桁-8桁」の半角数字で入力してください（例：13010-00000001）。")
        ]
    if not name or len(name) > TEXT_MAX_LENGTH:
        errors["name"] = [_text_error(_("氏名"), name)]
    if not name_kana or len(name_kana) > TEXT_MAX_LENGTH:
        errors["name_kana"] = [_text_error(_("氏名（カナ）"), name_kana)]
    if len(office) > TEXT_MAX_LENGTH:
        errors["office"] = [_("ハローワーク名は100文字以内で入力してください。")]
    languages = [code for code, _name in settings.LANGUAGES]
    if language and language not in languages:
        errors["language"] = [
            _("希望する言語は %(codes)s のいずれかで入力してください。")
            % {"codes": ", ".join(languages)}
        ]
    email = birth_date = None
    try:
        email = parse_email(raw.get("email") or "")
    except ValidationError as exc:
        errors["email"] = [exc.messages[0]]
    raw_birth = raw.get("birth_date")
    if isinstance(raw_birth, dt.date):
        raw_birth = raw_birth.isoformat()
    try:
        birth_date = parse_birth_date(raw_birth or "", today=today)
    except ValidationError as exc:
        errors["birth_date"] = [exc.messages[0]]
    if errors:
        raise ValidationError({name: errors[name] for name in FIELDS if name in errors})
    return JobSeekerRecord(
        number=number,
        name=name,
        name_kana=name_kana,
        email=email,
        birth_date=birth_date,
        office=office,
        language=language,
    )


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
    ip: str | None = None,
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
            records, actor=actor, actor_label=actor_label, ip=ip, source=source, outcomes=outcomes
        )
    return _upsert_batch_orm(
        records, actor=actor, actor_label=actor_label, ip=ip, source=source, outcomes=outcomes
    )


def _upsert_batch_orm(records, *, actor, actor_label, ip, source, outcomes=False) -> UpsertResult:
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
                    ip=ip,
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

_PG_SETUP = """
CREATE TEMP TABLE IF NOT EXISTS jobseeker_upsert_stage (
    idx integer NOT NULL,
    number varchar(14) NOT NULL,
    name varchar(100) NOT NULL,
    name_kana varchar(100) NOT NULL,
    email varchar(100) NOT NULL,
    birth_date date NOT NULL,
    office varchar(100) NOT NULL,
    language varchar(8) NOT NULL
);
CREATE TEMP TABLE IF NOT EXISTS jobseeker_upsert_plan (
    idx integer NOT NULL,
    number varchar(14) NOT NULL,
    name varchar(100) NOT NULL,
    name_kana varchar(100) NOT NULL,
    email varchar(100) NOT NULL,
    birth_date date NOT NULL,
    office varchar(100) NOT NULL,
    language varchar(8) NOT NULL,
    js_id bigint,
    action text NOT NULL,
    reason text,
    other varchar(14),
    changed text[]
);
TRUNCATE jobseeker_upsert_stage, jobseeker_upsert_plan;
-- A batch is small next to the register: look each row up by index rather than hash the
-- whole table (the planner's statistics lag behind a large import).
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
"""

# Lock the rows this batch may change (those that differ from the file) before deciding.
_PG_LOCK = """
SELECT count(*) FROM (
    SELECT js.id FROM jobseekers_jobseeker js
    JOIN jobseeker_upsert_stage st ON st.number = js.number
    WHERE (js.name, js.name_kana, lower(js.email), js.birth_date, js.office, js.language)
          IS DISTINCT FROM (st.name, st.name_kana, lower(st.email), st.birth_date, st.office,
                            COALESCE(NULLIF(st.language, ''), js.language))
    ORDER BY js.id
    FOR UPDATE OF js
) locked
"""

# The four rules of the module docstring, in the same order, as one statement.
_PG_DECIDE = """
INSERT INTO jobseeker_upsert_plan
    (idx, number, name, name_kana, email, birth_date, office, language, js_id, action, reason,
     other, changed)
WITH facts AS (
    SELECT st.*, lower(st.email) AS email_key,
           row_number() OVER (PARTITION BY st.number ORDER BY st.idx) AS number_rank,
           js.id AS js_id, js.status, holder.number AS holder,
           CASE WHEN js.id IS NOT NULL THEN array_remove(ARRAY[
               CASE WHEN js.name <> st.name THEN 'name' END,
               CASE WHEN js.name_kana <> st.name_kana THEN 'name_kana' END,
               CASE WHEN lower(js.email) <> lower(st.email) THEN 'email' END,
               CASE WHEN js.birth_date <> st.birth_date THEN 'birth_date' END,
               CASE WHEN js.office <> st.office THEN 'office' END,
               CASE WHEN st.language <> '' AND js.language <> st.language THEN 'language' END
           ], NULL) END AS changed
    FROM jobseeker_upsert_stage st
    LEFT JOIN jobseekers_jobseeker js ON js.number = st.number
    LEFT JOIN jobseekers_jobseeker holder
           ON lower(holder.email) = lower(st.email) AND holder.number <> st.number
), checked AS (
    SELECT facts.*, CASE
        WHEN number_rank > 1 THEN 'duplicate_number'
        WHEN holder IS NOT NULL THEN 'email_taken'
        WHEN js_id IS NOT NULL AND 'email' = ANY(changed) AND status <> 'pending'
            THEN 'email_locked'
    END AS early_reason
    FROM facts
), claimed AS (
    SELECT checked.*,
           row_number() OVER claim AS email_rank,
           first_value(number) OVER claim AS claimant
    FROM checked
    WINDOW claim AS (PARTITION BY email_key, early_reason IS NULL ORDER BY idx)
)
SELECT idx, number, name, name_kana, email, birth_date, office, language, js_id,
       CASE WHEN early_reason IS NOT NULL OR email_rank > 1 THEN 'reject'
            WHEN js_id IS NULL THEN 'create'
            WHEN cardinality(changed) = 0 THEN 'unchanged'
            ELSE 'update' END,
       COALESCE(early_reason, CASE WHEN email_rank > 1 THEN 'email_claimed' END),
       CASE WHEN early_reason = 'email_taken' THEN holder
            WHEN early_reason IS NULL AND email_rank > 1 THEN claimant END,
       changed
FROM claimed
"""

# The writes and the report in one statement: created rows, updated rows (the status is checked
# again under the row lock), one audit event each, then the refusals and the counts.
_PG_WRITE = """
WITH created AS (
    INSERT INTO jobseekers_jobseeker
        (number, name, name_kana, email, birth_date, office, language, status, created_at,
         updated_at)
    SELECT number, name, name_kana, email, birth_date, office,
           COALESCE(NULLIF(language, ''), %(default_language)s), 'pending', %(now)s, %(now)s
    FROM jobseeker_upsert_plan
    WHERE action = 'create'
    ORDER BY idx
    RETURNING 1
), updated AS (
    UPDATE jobseekers_jobseeker js SET
        name = p.name,
        name_kana = p.name_kana,
        email = CASE WHEN 'email' = ANY(p.changed) THEN p.email ELSE js.email END,
        birth_date = p.birth_date,
        office = p.office,
        language = COALESCE(NULLIF(p.language, ''), js.language),
        updated_at = %(now)s,
        version = js.version + 1
    FROM jobseeker_upsert_plan p
    WHERE p.action = 'update' AND js.id = p.js_id
      AND (js.status = 'pending' OR NOT 'email' = ANY(p.changed))
    RETURNING 1
), audited AS (
    INSERT INTO audit_auditevent
        (created_at, actor_id, actor_label, action, target_type, target_id, ip, detail)
    SELECT %(now)s, %(actor_id)s, %(actor_label)s,
           CASE p.action WHEN 'create' THEN 'jobseeker.created' ELSE 'jobseeker.updated' END,
           'jobseeker', p.number, %(ip)s::inet,
           CASE p.action
               WHEN 'create' THEN jsonb_build_object('source', %(source)s::text)
               ELSE jsonb_build_object('source', %(source)s::text, 'fields', to_jsonb(p.changed))
           END
    FROM jobseeker_upsert_plan p
    WHERE p.action IN ('create', 'update')
    ORDER BY p.idx
    RETURNING 1
), fed AS (
    -- The change feed's "address changed" (portal.audit.feed), in this transaction.
    INSERT INTO audit_feedevent (number, type, created_at, txid)
    SELECT p.number, 'address_changed', %(now)s, pg_current_xact_id()::text::bigint
    FROM jobseeker_upsert_plan p
    WHERE p.action = 'update' AND 'email' = ANY(p.changed)
    ORDER BY p.idx
    RETURNING 1
)
SELECT 'reject', idx, reason, other FROM jobseeker_upsert_plan WHERE action = 'reject'
UNION ALL
SELECT 'count:' || action, count(*)::integer, NULL, NULL FROM jobseeker_upsert_plan GROUP BY action
UNION ALL
SELECT 'written', (SELECT count(*) FROM created)::integer + (SELECT count(*) FROM updated)::integer,
       NULL, (SELECT count(*) FROM audited)::text
"""


def _upsert_batch_copy(records, *, actor, actor_label, ip, source, outcomes=False) -> UpsertResult:
    template = audit_event_build(
        "jobseeker.created", actor=actor, actor_label=actor_label, ip=ip, detail={}
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
        cursor.execute(_PG_SETUP)
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
        cursor.execute(_PG_LOCK + ";\n" + _PG_DECIDE)
        cursor.execute(_PG_WRITE, params)
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
    raw: Mapping[str, object], *, actor=None, actor_label: str = "", ip=None, source: str = ""
) -> JobSeeker:
    """Registers (or updates) one job seeker; raises ValidationError with the reason."""
    record = jobseeker_parse(raw)
    return jobseeker_save(record, actor=actor, actor_label=actor_label, ip=ip, source=source)


def jobseeker_save(
    record: JobSeekerRecord, *, actor=None, actor_label: str = "", ip=None, source: str = ""
) -> JobSeeker:
    """Writes one parsed record; raises ValidationError with the reason it was refused."""
    result = jobseeker_upsert_batch(
        [record], actor=actor, actor_label=actor_label, ip=ip, source=source
    )
    if result.rejected:
        raise ValidationError(result.rejected[0][1])
    return JobSeeker.objects.get(number=record.number)


def jobseeker_delete(jobseeker: JobSeeker, *, actor=None, actor_label: str = "", ip=None) -> None:
    """Removes a job seeker from the register, with an audit event."""
    with transaction.atomic():
        audit_event_record(
            "jobseeker.deleted",
            actor=actor,
            actor_label=actor_label,
            target_type="jobseeker",
            target_id=jobseeker.number,
            ip=ip,
            detail={"status": jobseeker.status},
        )
        jobseeker.delete()
