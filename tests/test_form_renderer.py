"""The fast <input> rendering writes exactly what Django's widget templates write."""

import pytest
from django.forms.renderers import DjangoTemplates

from portal.accounts.forms import LoginForm, OtpForm
from portal.core.forms import PortalFormRenderer
from portal.registration.forms import IdentityForm, PasswordForm, TermsForm

FORMS = [
    lambda: IdentityForm(),
    lambda: IdentityForm(
        {"email": 'a"<b>@x', "birth_year": "１９", "birth_month": "", "birth_day": "x"}
    ),
    lambda: PasswordForm(email="a@b.jp"),
    lambda: PasswordForm({"password1": "x", "key": "1 2"}, email="a@b.jp"),
    lambda: TermsForm(initial={"privacy_version": 'v"1&', "terms_version": "t"}),
    lambda: TermsForm({"agree": "on"}),
    lambda: LoginForm(),
    lambda: OtpForm({"code": "1", "remember": "on"}),
]


@pytest.mark.parametrize("make_form", FORMS)
def test_inputs_render_as_the_templates_do(make_form):
    form = make_form()
    if form.is_bound:
        form.is_valid()
    for field in form:
        form.renderer = PortalFormRenderer()
        fast = field.as_widget()
        form.renderer = DjangoTemplates()
        assert fast.strip() == field.as_widget().strip()
