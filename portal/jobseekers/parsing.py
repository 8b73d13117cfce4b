"""Parsing what staff and files give for a job seeker: every way of registering one goes
through `jobseeker_parse`."""

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.core.clock import clock
from portal.core.text import normalize_input, to_katakana
from portal.jobseekers.models import JOB_SEEKER_NUMBER_PATTERN

_NUMBER_RE = re.compile(JOB_SEEKER_NUMBER_PATTERN)
_DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_HALF_WIDTH_EMAIL_RE = re.compile(r"^[\x21-\x7e]+$")
EMAIL_MAX_LENGTH = 100
TEXT_MAX_LENGTH = 100
FIELDS = ("number", "name", "name_kana", "email", "birth_date", "office", "language")


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
