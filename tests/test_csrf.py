"""The CSRF token pages show ({% csrf_token %}, Django's own): a fresh masked token on every
page, each accepted with the cookie it came with, and a wrong one refused."""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def _token(page: str) -> str:
    return page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]


def test_the_token_a_page_shows_is_accepted_and_a_wrong_one_refused():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/").content.decode()
    token = _token(page)
    assert client.cookies[settings.CSRF_COOKIE_NAME].value
    accepted = client.post(
        "/login/", {"csrfmiddlewaretoken": token, "login_id": "", "password": ""}
    )
    # The form's own answer (back to the login with its errors), not CSRF's 403.
    assert accepted.status_code == 302 and accepted.url == "/login/"
    refused = client.post(
        "/login/", {"csrfmiddlewaretoken": token[::-1], "login_id": "", "password": ""}
    )
    assert refused.status_code == 403


def test_each_page_shows_a_token_masked_afresh_and_every_one_is_accepted():
    client = Client(enforce_csrf_checks=True)
    tokens = [_token(client.get("/login/").content.decode()) for _ in range(5)]
    assert len(set(tokens)) == 5
    assert all(len(token) == 64 for token in tokens)
    for token in tokens:
        answer = client.post(
            "/login/", {"csrfmiddlewaretoken": token, "login_id": "", "password": ""}
        )
        assert answer.status_code == 302 and answer.url == "/login/"  # the form's own answer


def test_a_post_without_the_cookie_is_refused():
    page = Client(enforce_csrf_checks=True).get("/login/").content.decode()
    fresh = Client(enforce_csrf_checks=True)
    answer = fresh.post(
        "/login/", {"csrfmiddlewaretoken": _token(page), "login_id": "", "password": ""}
    )
    assert answer.status_code == 403
