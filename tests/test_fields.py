"""The field template (as_field_group) and the birth-date fieldset: every hint and error on
screen is the one the input (or the fieldset) points at, and nothing a user typed reaches the
page unescaped."""

import re

from django import forms
from django.template.loader import render_to_string

from portal.accounts.forms import LoginForm
from portal.core.forms import PortalForm
from portal.registration.forms import IdentityForm, PasswordForm


def ids_described(html: str, element: str) -> list[str]:
    tag = re.search(rf"<{element}[^>]*>", html).group(0)
    return re.search(r'aria-describedby="([^"]*)"', tag).group(1).split()


def hint_text(html: str) -> str:
    return re.search(r'class="hint"[^>]*>([^<]*)<', html).group(1)


def test_field_with_errors_points_at_each_of_them():
    form = IdentityForm({"email": 'a"<b>@', "birth_year": "", "birth_month": "", "birth_day": ""})
    form.is_valid()
    html = form["email"].as_field_group()
    assert '<label for="id_email">' in html and '<span class="required">※必須</span>' in html
    errors = re.findall(r'<p class="error-message" id="([^"]+)">', html)
    hints = re.findall(r'<p class="hint" id="([^"]+)">', html)
    assert errors and ids_described(html, "input") == hints + errors
    assert 'aria-invalid="true"' in html
    assert 'value="a&quot;&lt;b&gt;@"' in html and "<b>" not in html


class HintedForm(PortalForm):
    nickname = forms.CharField(label="<呼び名>", help_text="半角で & 入力", required=False)


def test_field_hint_comes_first_and_labels_are_escaped():
    html = HintedForm()["nickname"].as_field_group()
    assert '<p class="hint" id="id_nickname-hint">半角で &amp; 入力</p>' in html
    assert ids_described(html, "input") == ["id_nickname-hint"]
    assert "&lt;呼び名&gt;" in html and "※必須" not in html


def test_password_field_gets_the_reveal_button_tied_to_it():
    html = LoginForm()["password"].as_field_group()
    assert '<div class="password-wrap"><input type="password"' in html
    assert 'data-toggle-password="id_password"' in html
    assert 'aria-controls="id_password"' in html and "hidden" in html
    assert "password-wrap" not in LoginForm()["login_id"].as_field_group()


def test_what_a_user_typed_and_an_error_are_shown_in_the_field():
    blank = IdentityForm()["email"].as_field_group()
    typed = IdentityForm(initial={"email": "a@b.jp"})["email"].as_field_group()
    assert 'value="a@b.jp"' in typed and "value=" not in blank
    bound = IdentityForm({"email": ""})
    bound.is_valid()
    with_error = bound["email"].as_field_group()
    assert "error-message" in with_error and "error-message" not in blank


def test_a_setting_shown_in_a_hint_is_read_each_time(settings):
    settings.AUTH_KEY_DIGITS = 8
    eight = PasswordForm(email="a@b.jp")["key"].as_field_group()
    settings.AUTH_KEY_DIGITS = 6
    six = PasswordForm(email="a@b.jp")["key"].as_field_group()
    assert eight != six and "6" in hint_text(six) and "8" in hint_text(eight)


def birth_date(form) -> str:
    return render_to_string("registration/_identity_fields.html", {"form": form})


def test_date_fieldset_describes_hint_and_every_part_error():
    form = IdentityForm({"email": "a@b.jp", "birth_year": "", "birth_month": "", "birth_day": ""})
    form.is_valid()
    html = birth_date(form)
    errors = re.findall(r'<p class="error-message" id="([^"]+)">', html)
    assert len(errors) == 3  # each part is required
    assert ids_described(html, "fieldset") == ["id_birth_year-hint", *errors]
    assert '<p class="hint" id="id_birth_year-hint">半角数字 西暦で入力してください。</p>' in html
    assert '<legend>生年月日<span class="required">※必須</span></legend>' in html
    for part in ("birth_year", "birth_month", "birth_day"):
        label = rf'<label( class="year")? for="id_{part}"><input [^>]*id="id_{part}"'
        assert re.search(label, html)


def test_a_blank_date_fieldset_is_described_by_its_hint_and_a_filled_one_shows_the_value():
    blank = birth_date(IdentityForm())
    assert ids_described(blank, "fieldset") == ["id_birth_year-hint"]
    assert "error-message" not in blank and "aria-invalid" not in blank
    filled = birth_date(IdentityForm(initial={"birth_year": "1990"}))
    assert 'value="1990"' in filled and "value=" not in blank
