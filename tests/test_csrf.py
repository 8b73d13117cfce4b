"""The CSRF token pages show (portal.core.csrf): Django's masked form, from one random read."""

import pytest
from django.conf import settings
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, _unmask_cipher_token
from django.test import Client, RequestFactory

from portal.core.csrf import csrf_token_for


def _request_with_secret(secret: str):
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = secret
    return request


def test_a_token_is_the_secret_masked_afresh_each_time():
    secret = "a" * 16 + "Z9" * 8
    request = _request_with_secret(secret)
    tokens = {csrf_token_for(request) for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == 2 * CSRF_SECRET_LENGTH
        assert set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True


def test_mask_characters_are_spread_over_the_whole_alphabet():
    request = _request_with_secret("b" * CSRF_SECRET_LENGTH)
    masks = "".join(csrf_token_for(request)[:CSRF_SECRET_LENGTH] for _ in range(2000))
    counts = [masks.count(char) for char in CSRF_ALLOWED_CHARS]
    expected = len(masks) / len(CSRF_ALLOWED_CHARS)  # about 1,032 each
    assert min(counts) > expected * 0.8 and max(counts) < expected * 1.2


def test_without_a_secret_django_makes_one_and_sets_its_cookie():
    request = RequestFactory().get("/")
    token = csrf_token_for(request)
    assert _unmask_cipher_token(token) == request.META["CSRF_COOKIE"]


@pytest.mark.django_db
def test_the_token_a_page_shows_is_accepted_and_a_wrong_one_refused():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert client.cookies[settings.CSRF_COOKIE_NAME].value
    accepted = client.post(
        "/login/", {"csrfmiddlewaretoken": token, "login_id": "", "password": ""}
    )
    assert accepted.status_code == 200  # the form's own message, not CSRF's 403
    refused = client.post(
        "/login/", {"csrfmiddlewaretoken": token[::-1], "login_id": "", "password": ""}
    )
    assert refused.status_code == 403
