"""The project's form renderer changes only the field template: every input is written by
Django's own widget templates, as the stock renderer writes it."""

import pytest
from django.forms.renderers import DjangoTemplates, get_default_renderer

from portal.accounts.forms import LoginForm, OtpForm
from portal.core.forms import FormRenderer
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


def test_the_project_renderer_is_djangos_with_the_field_template():
    renderer = get_default_renderer()
    assert isinstance(renderer, FormRenderer) and isinstance(renderer, DjangoTemplates)
    assert renderer.field_template_name == "forms/field.html"
    assert IdentityForm()["email"].template_name == "forms/field.html"


@pytest.mark.parametrize("make_form", FORMS)
def test_inputs_render_as_djangos_templates_do(make_form):
    form = make_form()
    if form.is_bound:
        form.is_valid()
    for field in form:
        form.renderer = FormRenderer()
        ours = field.as_widget()
        form.renderer = DjangoTemplates()
        assert ours == field.as_widget()
