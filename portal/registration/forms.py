from types import SimpleNamespace

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.core.forms import PortalForm
from portal.core.text import normalize_input
from portal.jobseekers.parsing import EMAIL_MAX_LENGTH, parse_birth_date, parse_email
from portal.registration.keys import key_normalize


class TermsForm(PortalForm):
    agree = forms.BooleanField(
        label=gettext_lazy("「プライバシーポリシー」「マイページ利用規約」に同意します。"),
        error_messages={
            "required": gettext_lazy(
                "「プライバシーポリシー」と「マイページ利用規約」を最後までご確認のうえ、"
                "「同意します」にチェックを付けてください。"
            )
        },
    )
    privacy_version = forms.CharField(widget=forms.HiddenInput)
    terms_version = forms.CharField(widget=forms.HiddenInput)


def _numeric(autocomplete: str, size: int) -> forms.TextInput:
    return forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": autocomplete, "size": size, "maxlength": 8}
    )


class IdentityForm(PortalForm):
    email = forms.CharField(
        label=gettext_lazy("ID（メールアドレス）"),
        help_text=gettext_lazy("半角英数字100文字以内"),
        max_length=300,  # longer pasted text gets the friendly message below, not a cut
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"}
        ),
        error_messages={"required": gettext_lazy("ID（メールアドレス）を入力してください。")},
    )
    birth_year = forms.CharField(
        label=gettext_lazy("年"),
        widget=_numeric("bday-year", 4),
        error_messages={"required": gettext_lazy("生年月日の年を入力してください。")},
    )
    birth_month = forms.CharField(
        label=gettext_lazy("月"),
        widget=_numeric("bday-month", 2),
        error_messages={"required": gettext_lazy("生年月日の月を入力してください。")},
    )
    birth_day = forms.CharField(
        label=gettext_lazy("日"),
        widget=_numeric("bday-day", 2),
        error_messages={"required": gettext_lazy("生年月日の日を入力してください。")},
    )

    def clean_email(self):
        try:
            return parse_email(self.cleaned_data["email"])
        except ValidationError as exc:
            if exc.code == "max_length":
                raise ValidationError(
                    _("ID（メールアドレス）は半角%(max)d文字以内で入力してください。")
                    % {"max": EMAIL_MAX_LENGTH}
                ) from None
            raise

    def _part(self, name: str, low: int, high: int, label: str) -> int | None:
        text = normalize_input(self.cleaned_data.get(name))
        if not text.isdigit() or not text.isascii() or len(text) > 4:
            self.add_error(name, _("%(label)sは半角数字で入力してください。") % {"label": label})
            return None
        value = int(text)
        if not low <= value <= high:
            self.add_error(
                name,
                _("%(label)sは%(low)dから%(high)dまでの数字で入力してください。")
                % {"label": label, "low": low, "high": high},
            )
            return None
        return value

    def clean(self):
        data = super().clean()
        if any(f in self.errors for f in ("birth_year", "birth_month", "birth_day")):
            return data
        year = self._part("birth_year", 1901, 9999, _("年（西暦）"))
        month = self._part("birth_month", 1, 12, _("月"))
        day = self._part("birth_day", 1, 31, _("日"))
        if None in (year, month, day):
            return data
        try:
            data["birth_date"] = parse_birth_date(f"{year:04d}-{month}-{day}")
        except ValidationError as exc:
            self.add_error("birth_year", exc.messages[0])
        return data


class PasswordForm(PortalForm):
    password1 = forms.CharField(
        label=gettext_lazy("登録するパスワード"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": gettext_lazy("登録するパスワードを入力してください。")},
    )
    password2 = forms.CharField(
        label=gettext_lazy("登録するパスワード（確認用）"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={
            "required": gettext_lazy("確認のため、同じパスワードをもう一度入力してください。")
        },
    )
    key = forms.CharField(
        label=gettext_lazy("認証キー"),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
        error_messages={
            "required": gettext_lazy("メールに記載されている認証キーを入力してください。")
        },
    )

    def __init__(self, *args, email: str = "", mail_name: str = "", reset=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        if reset:  # the reset sets a new password; it registers nothing
            self.fields["password1"].label = _("新しいパスワード")
            self.fields["password1"].error_messages["required"] = _(
                "新しいパスワードを入力してください。"
            )
            self.fields["password2"].label = _("新しいパスワード（確認用）")
        self.fields["password1"].help_text = _(
            "半角数字、英字、記号のすべてを含む%(min)d文字以上%(max)d文字以内"
        ) % {"min": settings.PASSWORD_MIN_LENGTH, "max": settings.PASSWORD_MAX_LENGTH}
        self.fields["key"].help_text = _(
            "「%(mail)s」メールに記載された%(n)d桁の数字です。"
            "空白やハイフンを含めて貼り付けても構いません。"
        ) % {"mail": mail_name or _("パスワード登録申込受付通知"), "n": settings.AUTH_KEY_DIGITS}

    def clean_password1(self):
        password = self.cleaned_data["password1"]
        validate_password(password, user=SimpleNamespace(email=self.email))
        return password

    def clean_key(self):
        key = key_normalize(self.cleaned_data["key"])
        digits = settings.AUTH_KEY_DIGITS
        if not (key.isascii() and key.isdigit() and len(key) == digits):
            raise ValidationError(
                _("認証キーは%(n)d桁の数字です。メールに記載された数字を入力してください。")
                % {"n": digits}
            )
        return key

    def clean(self):
        data = super().clean()
        # Compared as typed, so a mismatch is reported together with the rules' complaints.
        p1, p2 = self.data.get("password1"), self.data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error(
                "password2",
                _("確認用のパスワードが一致しません。同じパスワードを2回入力してください。"),
            )
        return data
