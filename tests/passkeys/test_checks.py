"""The start-up check of the relying party and the allowed origins."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from portal.passkeys.checks import passkey_settings_check


def _ids(settings, *, rp_id="localhost", origins=("http://localhost:8000",), hosts=None):
    settings.WEBAUTHN_RP_ID = rp_id
    settings.WEBAUTHN_ORIGINS = list(origins)
    if hosts is not None:
        settings.ALLOWED_HOSTS = hosts
    return [error.id for error in passkey_settings_check()]


def test_the_demo_and_test_configuration_passes(settings):
    assert _ids(settings, hosts=["localhost", "127.0.0.1"]) == []


def test_a_production_configuration_with_a_subdomain_passes(settings):
    ids = _ids(
        settings,
        rp_id="example.jp",
        origins=["https://mypage.example.jp", "https://example.jp"],
        hosts=["mypage.example.jp", ".example.jp"],
    )
    assert ids == []


def test_an_origin_outside_allowed_hosts_is_refused(settings):
    assert _ids(
        settings, origins=["https://mypage.example.jp"], rp_id="example.jp", hosts=["localhost"]
    ) == ["passkeys.E005"]


def test_an_origin_outside_the_rp_id_is_refused(settings):
    ids = _ids(
        settings,
        rp_id="example.jp",
        origins=["https://mypage.example.com"],
        hosts=["mypage.example.com"],
    )
    assert ids == ["passkeys.E004"]
    # A suffix that is not a subdomain boundary is no subdomain.
    assert "passkeys.E004" in _ids(
        settings, rp_id="example.jp", origins=["https://badexample.jp"], hosts=["badexample.jp"]
    )


def test_an_ip_address_as_rp_id_is_refused(settings):
    ids = _ids(settings, rp_id="127.0.0.1", origins=["http://127.0.0.1:8000"], hosts=["127.0.0.1"])
    assert "passkeys.E001" in ids


def test_plain_http_is_refused_except_on_localhost(settings):
    ids = _ids(settings, rp_id="example.jp", origins=["http://example.jp"], hosts=["example.jp"])
    assert ids == ["passkeys.E006"]


def test_manage_check_stops_on_a_bad_origin(settings):
    settings.WEBAUTHN_ORIGINS = ["https://elsewhere.example"]
    with pytest.raises(SystemCheckError, match=r"passkeys\.E004"):
        call_command("check")
