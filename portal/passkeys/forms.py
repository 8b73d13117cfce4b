from django import forms
from django.utils.translation import gettext_lazy as _

from portal.core.forms import PortalForm
from portal.passkeys.services import NAME_MAX_LENGTH

# A WebAuthn response is a few kilobytes at most; anything larger is refused as malformed.
CREDENTIAL_MAX_LENGTH = 16_000


class PasskeyNameField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label=_("パスキーの名前"),
            max_length=NAME_MAX_LENGTH,
            error_messages={
                "max_length": _("名前は%(limit_value)d文字以内で入力してください。"),
                "required": _("パスキーの名前を入力してください。"),
            },
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
            **kwargs,
        )


class PasskeyAddForm(PortalForm):
    name = PasskeyNameField(
        required=False,
        help_text=_(
            "あとで見分けられる名前を付けてください（例：自宅のパソコン）。"
            "空欄の場合は、ブラウザの種類から名前を付けます。"
        ),
    )
    credential = forms.CharField(
        widget=forms.HiddenInput, required=False, max_length=CREDENTIAL_MAX_LENGTH
    )


class PasskeyRenameForm(PortalForm):
    name = PasskeyNameField()


class CredentialForm(forms.Form):
    credential = forms.CharField(max_length=CREDENTIAL_MAX_LENGTH)


class ReauthPasswordForm(PortalForm):
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        max_length=256,
        error_messages={"required": _("パスワードを入力してください。")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
