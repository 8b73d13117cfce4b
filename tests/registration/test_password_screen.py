"""③ shows each browser its own flow: its address, its reference and its CSRF tokens; the
registration and the reset share its template, each with its own action and steps."""

import re

import pytest

from tests.browser_client import BrowserClient as Client

pytestmark = pytest.mark.django_db


def _csrf_and_reference(response) -> tuple[list[str], str]:
    html = response.content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    reference = re.search(r'class="reference">([A-Z0-9-]+)<', html).group(1)
    return tokens, reference


def _at_password_screen(client: Client, address: str) -> None:
    terms = client.get("/register/").content.decode()
    versions = dict(re.findall(r'name="(privacy_version|terms_version)" value="([^"]*)"', terms))
    assert client.post("/register/", {"agree": "on", **versions}).status_code == 302
    answer = {"email": address, "birth_year": "1990", "birth_month": "4", "birth_day": "1"}
    assert client.post("/register/identity/", answer).status_code == 302


def test_two_browsers_see_their_own_flow_and_token():
    first, second = Client(), Client()
    _at_password_screen(first, "first@example.jp")
    _at_password_screen(second, "second@example.jp")
    first_page, second_page = first.get("/register/password/"), second.get("/register/password/")
    first_tokens, first_reference = _csrf_and_reference(first_page)
    second_tokens, second_reference = _csrf_and_reference(second_page)
    assert "first@example.jp" in first_page.content.decode()
    assert "second@example.jp" in second_page.content.decode()
    assert "first@example.jp" not in second_page.content.decode()
    assert first_reference != second_reference
    # Every form on the page (the language switch too) carries a token, each browser its own.
    assert len(first_tokens) == 4 and len(second_tokens) == 4
    assert set(first_tokens).isdisjoint(second_tokens)
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value


def test_reset_and_registration_share_the_template_each_with_its_own_action_and_steps():
    client = Client()
    _at_password_screen(client, "someone@example.jp")
    registration = client.get("/register/password/").content.decode()
    reset = client.post(
        "/password-reset/",
        {"email": "other@example.jp", "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )
    assert reset.status_code == 302
    reset_page = client.get(reset["Location"]).content.decode()
    assert 'action="/register/password/"' in registration
    assert 'action="/register/password/"' not in reset_page
    assert "ステップ3" in registration and "ステップ3" not in reset_page
    assert "パスワード再設定" in reset_page
