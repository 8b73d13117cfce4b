"""The password policy (docs/architecture.md, "Password policy"):
half-width printable ASCII, length bounds, composition,
each failure reported in its own message. Bounds and rules come from settings."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portal.core.text import normalize_email

_PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]*$")


class AsciiCompositionValidator:
    def validate(self, password, user=None):
        errors = []
        if not _PRINTABLE_ASCII.match(password):
            if any(ord(c) > 0x7E for c in password):
                errors.append(
                    ValidationError(
                        _(
                            "全角文字が含まれています。パスワードは半角の英字・数字・記号で"
                            "入力してください。"
                        ),
                        code="password_not_ascii",
                    )
                )
            else:
                errors.append(
                    ValidationError(
                        _("空白は使えません。空白を除いて入力してください。"),
                        code="password_has_space",
                    )
                )
        length = len(password)
        if length < settings.PASSWORD_MIN_LENGTH or length > settings.PASSWORD_MAX_LENGTH:
            errors.append(
                ValidationError(
                    _(
                        "パスワードは%(min)d文字以上%(max)d文字以内で入力してください（現在%(n)d文字）。"
                    )
                    % {
                        "min": settings.PASSWORD_MIN_LENGTH,
                        "max": settings.PASSWORD_MAX_LENGTH,
                        "n": length,
                    },
                    code="password_length",
                )
            )
        if settings.PASSWORD_REQUIRE_DIGIT and not re.search(r"[0-9]", password):
            errors.append(
                ValidationError(
                    _("半角数字（0〜9）を1文字以上含めてください。"), code="password_no_digit"
                )
            )
        if settings.PASSWORD_REQUIRE_LETTER and not re.search(r"[A-Za-z]", password):
            errors.append(
                ValidationError(
                    _("半角英字（A〜Z、a〜z）を1文字以上含めてください。"),
                    code="password_no_letter",
                )
            )
        if settings.PASSWORD_REQUIRE_SYMBOL and not re.search(
            r"[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]", password
        ):
            errors.append(
                ValidationError(
                    _("半角記号（!、#、$ など）を1文字以上含めてください。"),
                    code="password_no_symbol",
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        return _("半角数字、英字、記号のすべてを含む%(min)d文字以上%(max)d文字以内") % {
            "min": settings.PASSWORD_MIN_LENGTH,
            "max": settings.PASSWORD_MAX_LENGTH,
        }


class EmailLocalPartValidator:
    """Refuses a password that contains the e-mail's local part (case-insensitive).

    `user` may be any object with an `email` attribute (the job seeker during registration)."""

    min_local_length = 3

    def validate(self, password, user=None):
        email = normalize_email(getattr(user, "email", "") or "")
        local = email.split("@", 1)[0]
        if len(local) >= self.min_local_length and local in password.lower():
            raise ValidationError(
                _("メールアドレスの「@」より前の部分をパスワードに含めないでください。"),
                code="password_contains_email",
            )

    def get_help_text(self):
        return _("メールアドレスの「@」より前の部分を含まないこと")


# The symbols that count as 記号: every half-width printable character but letters and digits.
PASSWORD_SYMBOLS = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())


def password_rules_list() -> list[str]:
    """Every rule of the validators above, one line each, to show before the first try."""
    rules = [
        _("%(min)d文字以上%(max)d文字以内")
        % {
            "min": settings.PASSWORD_MIN_LENGTH,
            "max": settings.PASSWORD_MAX_LENGTH,
        }
    ]
    kinds = [
        kind
        for required, kind in (
            (settings.PASSWORD_REQUIRE_DIGIT, _("半角数字（0〜9）")),
            (settings.PASSWORD_REQUIRE_LETTER, _("半角英字（A〜Z、a〜z）")),
            (settings.PASSWORD_REQUIRE_SYMBOL, _("半角記号")),
        )
        if required
    ]
    if kinds:
        rules.append(
            _("%(kinds)sをそれぞれ1文字以上含む")
            % {"kinds": pgettext("list separator", "、").join(kinds)}
        )
    rules += [
        _("記号として使えるのは次の半角文字です：%(symbols)s") % {"symbols": PASSWORD_SYMBOLS},
        _("全角文字と空白は使えません"),
        _("よく使われているパスワード（password1 など）は使えません"),
        _("メールアドレスの「@」より前の部分を含まないこと"),
    ]
    return rules
