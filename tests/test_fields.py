"""{% field %} and {% date_fieldset %}: every hint and error on screen is the one the input (or
the fieldset) points at, and nothing a user typed reaches the page unescaped."""

import re

import pytest
from django import forms
from django.template import Context, Template
from django.utils import translation

from portal.accounts.forms import LoginForm, OtpForm, PasswordChangeForm
from portal.core.forms import PortalForm
from portal.core.templatetags.fields import _blank_markup, _field
from portal.registration.forms import IdentityForm, PasswordForm


def render(source: str, **context) -> str:
    return Template("{% load fields %}" + source).render(Context(context))


def ids_described(html: str, element: str) -> list[str]:
    tag = re.search(rf"<{element}[^>]*>", html).group(0)
    return re.search(r'aria-describedby="([^"]*)"', tag).group(1).split()


def test_field_with_errors_points_at_each_of_them():
    form = IdentityForm({"email": 'a"<b>@', "birth_year": "", "birth_month": "", "birth_day": ""})
    form.is_valid()
    html = render("{% field form.email %}", form=form)
    assert '<label for="id_email">' in html and '<span class="required">※必須</span>' in html
    errors = re.findall(r'<p class="error-message" id="([^"]+)">', html)
    hints = re.findall(r'<p class="hint" id="([^"]+)">', html)
    assert errors and ids_described(html, "input") == hints + errors
    assert 'aria-invalid="true"' in html
    assert 'value="a&quot;&lt;b&gt;@"' in html and "<b>" not in html


class HintedForm(PortalForm):
    nickname = forms.CharField(label="<呼び名>", help_text="半角で & 入力", required=False)


def test_field_hint_comes_first_and_labels_are_escaped():
    html = render("{% field form.nickname %}", form=HintedForm())
    assert '<p class="hint" id="id_nickname-hint">半角で &amp; 入力</p>' in html
    assert ids_described(html, "input") == ["id_nickname-hint"]
    assert "&lt;呼び名&gt;" in html and "※必須" not in html


def test_password_field_gets_the_reveal_button_tied_to_it():
    html = render("{% field form.password toggle=True %}", form=LoginForm())
    assert '<div class="password-wrap"><input type="password"' in html
    assert 'data-toggle-password="id_password"' in html
    assert 'aria-controls="id_password"' in html and "hidden" in html


def test_date_fieldset_describes_hint_and_every_part_error():
    form = IdentityForm({"email": "a@b.jp", "birth_year": "", "birth_month": "", "birth_day": ""})
    form.is_valid()
    html = render(
        "{% date_fieldset '生年月日' 'ヒント' form.birth_year form.birth_month form.birth_day %}",
        form=form,
    )
    errors = re.findall(r'<p class="error-message" id="([^"]+)">', html)
    assert len(errors) == 3  # each part is required
    assert ids_described(html, "fieldset") == ["id_birth_year-hint", *errors]
    assert '<p class="hint" id="id_birth_year-hint">ヒント</p>' in html
    for part in ("birth_year", "birth_month", "birth_day"):
        label = rf'<label( class="year")? for="id_{part}"><input [^>]*id="id_{part}"'
        assert re.search(label, html)


# --- blank fields of unbound forms, written once ---------------------------------------------

BLANK_FORMS = [
    (IdentityForm, {}),
    (LoginForm, {}),
    (PasswordForm, {"email": "a@b.jp"}),
    (OtpForm, {}),
    (PasswordChangeForm, {"user": None}),
]


@pytest.fixture
def empty_markup_cache():
    _blank_markup.clear()
    yield
    _blank_markup.clear()


@pytest.mark.parametrize(("form_class", "kwargs"), BLANK_FORMS)
def test_a_remembered_blank_field_is_the_markup_written_afresh(
    empty_markup_cache, form_class, kwargs
):
    for name in form_class.base_fields:
        first = render("{% field form.f toggle=True %}", form={"f": form_class(**kwargs)[name]})
        again = render("{% field form.f toggle=True %}", form={"f": form_class(**kwargs)[name]})
        assert again == first == _field(form_class(**kwargs)[name], True)
    assert len(_blank_markup) == len(form_class.base_fields)


def test_what_a_user_typed_or_an_error_is_never_taken_from_memory(empty_markup_cache):
    blank = render("{% field form.email %}", form=IdentityForm())
    typed = render("{% field form.email %}", form=IdentityForm(initial={"email": "a@b.jp"}))
    assert 'value="a@b.jp"' in typed and "value=" not in blank
    bound = IdentityForm({"email": ""})
    bound.is_valid()
    with_error = render("{% field form.email %}", form=bound)
    assert "error-message" in with_error and "error-message" not in blank
    assert render("{% field form.email %}", form=IdentityForm()) == blank
    assert len(_blank_markup) == 1


def test_a_setting_shown_in_a_hint_and_the_language_are_part_of_the_key(
    empty_markup_cache, settings
):
    settings.AUTH_KEY_DIGITS = 8
    eight = render("{% field form.key %}", form=PasswordForm(email="a@b.jp"))
    settings.AUTH_KEY_DIGITS = 6
    six = render("{% field form.key %}", form=PasswordForm(email="a@b.jp"))
    assert eight != six and "6" in re.search(r'class="hint"[^>]*>([^<]*)<', six).group(1)
    with translation.override("en"):
        render("{% field form.key %}", form=PasswordForm(email="a@b.jp"))
    assert len(_blank_markup) == 3


def test_a_blank_date_fieldset_is_remembered_and_a_filled_one_is_not(empty_markup_cache):
    source = "{% date_fieldset 'L' 'H' form.birth_year form.birth_month form.birth_day %}"
    blank = render(source, form=IdentityForm())
    assert render(source, form=IdentityForm()) == blank
    filled = render(source, form=IdentityForm(initial={"birth_year": "1990"}))
    assert 'value="1990"' in filled and "value=" not in blank
    assert len(_blank_markup) == 1
