"""The counter register. Every way of registering a job seeker (command, CSV import, admin,
API) goes through `jobseeker_parse` and `jobseeker_upsert_batch`."""

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from portal.audit.services import audit_event_build
from portal.audit.models import AuditEvent
from portal.core.clock import clock
from portal.core.text import normalize_email, normalize_input
from portal.jobseekers.models import JOB_SEEKER_NUMBER_PATTERN, JobSeeker

_NUMBER_RE = re.compile(JOB_SEEKER_NUMBER_PATTERN)
_DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_HALF_WIDTH_EMAIL_RE = re.compile(r"^[\x21-\x7e]+$")
EMAIL_MAX_LENGTH = 100
FIELDS = ("number", "name", "name_kana", "email", "birth_date", "office")


@dataclass(frozen=True, slots=True)
class JobSeekerRecord:
    number: str
    name: str
    name_kana: str
    email: str
    birth_date: dt.date
    office: str = ""


def parse_birth_date(value: str, *, today: dt.date | None = None) -> dt.date:
    """A real date after 1900 and before today; 1990-04-01 or 1990/4/1."""
    text = normalize_input(value)
    match = _DATE_RE.match(text)
    if not match:
        raise ValidationError(
            _("生年月日は西暦の年-月-日で入力してください（例：1990-04-01）。"), code="format"
        )
    try:
        date = dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValidationError(
            _("生年月日「%(value)s」は存在しない日付です。") % {"value": text}, code="invalid"
        ) from None
    today = today or clock.now().date()
    if date.year <= 1900 or date >= today:
        raise ValidationError(
            _("生年月日は1901年以降、今日より前の日付を入力してください。"), code="range"
        )
    return date


def parse_email(value: str) -> str:
    email = normalize_email(value)
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
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            _("メールアドレスの形式が正しくありません（例：taro@example.jp）。"), code="invalid"
        ) from None
    return email


def jobseeker_parse(raw: Mapping[str, object], *, today: dt.date | None = None) -> JobSeekerRecord:
    """Normalises (NFKC, trimmed) and validates one job seeker; raises ValidationError whose
    message_dict names each bad field."""
    errors: dict[str, list[str]] = {}
    values = {name: normalize_input(raw.get(name)) for name in FIELDS}

    def fail(name, message):
        errors.setdefault(name, []).append(str(message))

    if not _NUMBER_RE.match(values["number"]):
        fail("number", _("求職番号は「5桁-8桁」の半角数字で入力してください（例：13010-00000001）。"))
    for name, label in (("name", _("氏名")), ("name_kana", _("氏名（カナ）"))):
        if not values[name]:
            fail(name, _("%(label)sを入力してください。") % {"label": label})
        elif len(values[name]) > 100:
            fail(name, _("%(label)sは100文字以内で入力してください。") % {"label": label})
    if len(values["office"]) > 100:
        fail("office", _("ハローワーク名は100文字以内で入力してください。"))
    email = birth_date = None
    try:
        email = parse_email(str(raw.get("email") or ""))
    except ValidationError as exc:
        fail("email", exc.messages[0])
    raw_birth = raw.get("birth_date")
    if isinstance(raw_birth, dt.date):
        raw_birth = raw_birth.isoformat()
    try:
        birth_date = parse_birth_date(str(raw_birth or ""), today=today)
    except ValidationError as exc:
        fail("birth_date", exc.messages[0])
    if errors:
        raise ValidationError(errors)
    return JobSeekerRecord(
        number=values["number"],
        name=values["name"],
        name_kana=values["name_kana"],
        email=email,
        birth_date=birth_date,
        office=values["office"],
    )


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (index in the batch, message) for each record that was refused
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _changed_fields(existing: JobSeeker, record: JobSeekerRecord) -> list[str]:
    changed = []
    for name in FIELDS:
        old = getattr(existing, name)
        new = getattr(record, name)
        if name == "email":
            if old.lower() != new.lower():
                changed.append(name)
        elif old != new:
            changed.append(name)
    return changed


def jobseeker_upsert_batch(
    records: Iterable[JobSeekerRecord],
    *,
    actor=None,
    actor_label: str = "",
    ip: str | None = None,
    source: str = "",
) -> UpsertResult:
    """Creates or updates job seekers by number in one transaction.

    A record whose e-mail belongs to another job seeker, or that changes the e-mail of an
    account already opened, is rejected; the others are written. Each created or changed job
    seeker gets an audit event (field names only, never values of secrets)."""
    records = list(records)
    result = UpsertResult()
    if not records:
        return result
    now = clock.now()
    numbers = [r.number for r in records]
    emails = [r.email.lower() for r in records]
    with transaction.atomic():
        existing = {
            js.number: js
            for js in JobSeeker.objects.select_for_update().filter(number__in=numbers)
        }
        owners = dict(
            JobSeeker.objects.filter(email__lower__in=emails).values_list("email", "number")
        )
        owners = {email.lower(): number for email, number in owners.items()}
        seen_numbers: set[str] = set()
        seen_emails: dict[str, str] = {}
        to_create, to_update, events = [], [], []
        update_fields: set[str] = set()
        for index, record in enumerate(records):
            email_key = record.email.lower()
            if record.number in seen_numbers:
                result.rejected.append(
                    (index, _("求職番号 %(number)s が同じファイル内で重複しています。")
                     % {"number": record.number})
                )
                continue
            owner = owners.get(email_key) or seen_emails.get(email_key)
            if owner is not None and owner != record.number:
                result.rejected.append(
                    (index, _("メールアドレス %(email)s は別の求職者（%(owner)s）に登録済みです。")
                     % {"email": record.email, "owner": owner})
                )
                continue
            seen_numbers.add(record.number)
            seen_emails[email_key] = record.number
            current = existing.get(record.number)
            if current is None:
                to_create.append(
                    JobSeeker(
                        **{name: getattr(record, name) for name in FIELDS},
                        created_at=now,
                        updated_at=now,
                    )
                )
                events.append(
                    audit_event_build(
                        "jobseeker.created",
                        actor=actor,
                        actor_label=actor_label,
                        target_type="jobseeker",
                        target_id=record.number,
                        ip=ip,
                        detail={"source": source},
                    )
                )
                result.created += 1
                continue
            changed = _changed_fields(current, record)
            if not changed:
                result.unchanged += 1
                continue
            if "email" in changed and current.status != JobSeeker.Status.PENDING:
                result.rejected.append(
                    (index, _("マイページ開設済みの求職者（%(number)s）のメールアドレスは取込みでは"
                              "変更できません。窓口のメールアドレス変更を使ってください。")
                     % {"number": record.number})
                )
                continue
            for name in changed:
                setattr(current, name, getattr(record, name))
            current.updated_at = now
            update_fields.update(changed)
            to_update.append(current)
            events.append(
                audit_event_build(
                    "jobseeker.updated",
                    actor=actor,
                    actor_label=actor_label,
                    target_type="jobseeker",
                    target_id=record.number,
                    ip=ip,
                    detail={"source": source, "fields": changed},
                )
            )
            result.updated += 1
        if to_create:
            JobSeeker.objects.bulk_create(to_create)
        if to_update:
            JobSeeker.objects.bulk_update(to_update, [*sorted(update_fields), "updated_at"])
        if events:
            AuditEvent.objects.bulk_create(events)
    return result


def jobseeker_register(
    raw: Mapping[str, object], *, actor=None, actor_label: str = "", ip=None, source: str = ""
) -> JobSeeker:
    """Registers (or updates) one job seeker; raises ValidationError with the reason."""
    record = jobseeker_parse(raw)
    result = jobseeker_upsert_batch(
        [record], actor=actor, actor_label=actor_label, ip=ip, source=source
    )
    if result.rejected:
        raise ValidationError(result.rejected[0][1])
    return JobSeeker.objects.get(number=record.number)
