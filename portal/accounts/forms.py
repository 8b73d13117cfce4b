import re

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.core.forms import PortalForm
from portal.core.site import site_text
from portal.core.text import normalize_input

LOGIN_ID_MAX_LENGTH = 254


def login_failed_message() -> str:
    return gettext(
        "IDまたはパスワードが正しくありません。IDには登録したメールアドレスを入力し、"
        "パスワードは大文字・小文字の違いにも注意して入力してください。"
    )


def last_try_message() -> str:
    """Shown after a failure that leaves one try before the lock, for any ID (existing or
    not): the counters are kept per ID typed."""
    return gettext(
        "あと1回ログインに失敗すると、このIDでのログインを%(minutes)d分間停止します。"
        "パスワードがわからない場合は、「パスワードを忘れた方」からパスワードを再設定してください。"
    ) % {"minutes": settings.LOGIN_LOCK_MINUTES}


def wrong_current_password_message() -> str:
    return gettext(
        "現在のパスワードが正しくありません。いま使っているパスワードを入力してください。"
    )


def lock_message(locked_until, *, staff: bool = False) -> str:
    """The message for a locked ID, existing or not: when to retry and how to get help."""
    local = timezone.localtime(locked_until)
    if staff:
        return gettext(
            "ログインに続けて失敗したため、このIDでのログインを一時的に停止しています。"
            "%(until)s以降にもう一度お試しください。急ぐ場合は、ほかの管理者に"
            "ロックの解除を依頼してください。"
        ) % {"until": date_format(local, gettext("Y年n月j日 G時i分"))}
    return gettext(
        "ログインに続けて失敗したため、このIDでのログインを一時的に停止しています。"
        "%(until)s以降にもう一度お試しください。"
        "すぐにログインしたい場合は、「パスワードを忘れた方」からパスワードを再設定すると、"
        "停止が解除されます。%(contact)s"
    ) % {
        "until": date_format(local, gettext("Y年n月j日 G時i分")),
        "contact": site_text("OFFICE_CONTACT"),
    }


class LoginForm(PortalForm):
    login_id = forms.CharField(
        label=_("ID（メールアドレス）"),
        max_length=LOGIN_ID_MAX_LENGTH,
        error_messages={
            "required": _("IDを入力してください。IDは登録したメールアドレスです。"),
            "max_length": _("IDは%(limit_value)d文字以内で入力してください。"),
        },
        widget=forms.EmailInput(
            # "webauthn": the browser may offer passkeys in this field's autofill.
            attrs={
                "autocomplete": "username webauthn",
                "spellcheck": "false",
                "autocapitalize": "none",
            }
        ),
    )
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        max_length=256,
        error_messages={
            "required": _("パスワードを入力してください。"),
            "max_length": _("パスワードが長すぎます。登録したパスワードを入力してください。"),
        },
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean_login_id(self):
        return normalize_input(self.cleaned_data["login_id"])


_OTP_SEPARATORS = re.compile(r"[\s\-‐－ー−]")


class OtpForm(PortalForm):
    code = forms.CharField(
        label=_("ワンタイムパスワード"),
        max_length=32,
        help_text=_("メールに記載された6桁の数字を入力してください。"),
        error_messages={"required": _("ワンタイムパスワードを入力してください。")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
            }
        ),
    )
    remember = forms.BooleanField(
        label=_("次回から一定期間ワンタイムパスワードの入力を省略する"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        digits = settings.LOGIN_OTP_DIGITS
        self.fields["code"].help_text = gettext(
            "メールに記載された%(digits)d桁の数字を入力してください。"
        ) % {"digits": digits}

    def clean_code(self):
        digits = settings.LOGIN_OTP_DIGITS
        code = _OTP_SEPARATORS.sub("", normalize_input(self.cleaned_data["code"]))
        if not re.fullmatch(rf"\d{{{digits}}}", code):
            raise ValidationError(
                gettext("ワンタイムパスワードは%(digits)d桁の半角数字で入力してください。")
                % {"digits": digits},
                code="format",
            )
        return code


class PasswordChangeForm(PortalForm):
    current_password = forms.CharField(
        label=_("現在のパスワード"),
        strip=False,
        max_length=256,
        error_messages={"required": _("現在のパスワードを入力してください。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label=_("新しいパスワード"),
        strip=False,
        max_length=256,
        error_messages={"required": _("新しいパスワードを入力してください。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("新しいパスワード（確認用）"),
        strip=False,
        max_length=256,
        help_text=_("確認のため、新しいパスワードをもう一度入力してください。"),
        error_messages={"required": _("確認用のパスワードを入力してください。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = " ".join(
            password_validation.password_validators_help_texts()
        )

    def clean_new_password1(self):
        password = self.cleaned_data["new_password1"]
        password_validation.validate_password(password, user=self.user)
        return password

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error(
                "new_password2",
                ValidationError(
                    gettext(
                        "確認用のパスワードが新しいパスワードと一致しません。"
                        "同じパスワードを入力してください。"
                    ),
                    code="password_mismatch",
                ),
            )
        return cleaned


class StaffLoginForm(forms.Form):
    """The staff admin's password step (field names as Django's admin/login.html expects)."""

    username = forms.CharField(
        label=_("ID（メールアドレス）"),
        max_length=LOGIN_ID_MAX_LENGTH,
        error_messages={"required": _("IDを入力してください。")},
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        max_length=256,
        error_messages={"required": _("パスワードを入力してください。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean_username(self):
        return normalize_input(self.cleaned_data["username"])


class StaffOtpForm(OtpForm):
    """The staff admin's one-time password: there is no skipping it on a trusted browser."""

    remember = None


class StaffEmailChangeForm(forms.Form):
    new_email = forms.CharField(
        label=_("新しいメールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    new_email_confirm = forms.CharField(
        label=_("新しいメールアドレス（確認用）"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean(self):
        cleaned = super().clean()
        first = normalize_input(cleaned.get("new_email") or "").lower()
        second = normalize_input(cleaned.get("new_email_confirm") or "").lower()
        if first and second and first != second:
            self.add_error(
                "new_email_confirm",
                gettext("確認用のメールアドレスが一致しません。同じアドレスを入力してください。"),
            )
        return cleaned
