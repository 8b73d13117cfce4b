"""The Content-Security-Policy header (django-csp's middleware): every page gets the settings'
policy; per-view policies and nonces work as django-csp documents them."""

import pytest
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _middleware():
    return CSPMiddleware(lambda request: HttpResponse("ok"))


def test_every_page_gets_django_csps_header_for_the_settings(client):
    expected = build_policy()
    assert "script-src 'self'" in expected
    for name in ("registration:top", "registration:terms", "accounts:login"):
        assert client.get(reverse(name))["Content-Security-Policy"] == expected


def test_a_changed_policy_is_the_one_sent(client, settings):
    client.get(reverse("registration:top"))
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    assert client.get(reverse("registration:top"))["Content-Security-Policy"] == (
        "default-src 'self'"
    )


def test_a_per_view_policy_and_a_nonce_take_effect(settings):
    from csp.constants import NONCE, SELF
    from csp.decorators import csp_update

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    middleware = _middleware()
    request = RequestFactory().get("/")
    middleware.process_request(request)
    view = csp_update({"img-src": ["https://maps.example.jp"]})(lambda request: HttpResponse("ok"))
    header = middleware.process_response(request, view(request))["Content-Security-Policy"]
    assert "https://maps.example.jp" in header and header != build_policy()

    request = RequestFactory().get("/")
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    header = middleware.process_response(request, HttpResponse("ok"))["Content-Security-Policy"]
    assert f"'nonce-{nonce}'" in header


def test_a_nonce_asked_for_after_the_header_is_an_error():
    from csp.exceptions import CSPNonceError

    middleware = _middleware()
    request = RequestFactory().get("/")
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse("ok"))
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
