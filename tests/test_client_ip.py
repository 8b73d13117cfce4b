"""The client's address behind a trusted proxy: every forwarded hop is parsed as an address,
and what reaches the database and the rate-limit keys is always a valid address."""

import ipaddress
import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory, override_settings

from portal.accounts.models import LoginEvent
from portal.audit.models import AuditEvent
from portal.core import client_ip as client_ip_module
from portal.core.client_ip import client_ip, parse_address
from portal.jobseekers.models import JobSeeker
from tests.accounts.conftest import PASSWORD, login_post
from tests.registration.journey import Journey

PROXY = "10.0.0.5"

# X-Forwarded-For as proxies send it -> the address the service must record.
FORWARDED = [
    ("203.0.113.7:51234", "203.0.113.7"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("unknown", PROXY),  # not an address: the connecting address is used
    ("198.51.100.2, 203.0.113.9:8080", "203.0.113.9"),
    ("  203.0.113.10  ", "203.0.113.10"),
]


@pytest.fixture(autouse=True)
def _fresh_warning_clock(monkeypatch):
    monkeypatch.setattr(client_ip_module, "_warned_at", None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:80", "203.0.113.7"),
        (" 203.0.113.7:80 ", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("unknown", None),
        ("", None),
        ("203.0.113.7:", None),
        ("203.0.113.7:http", None),
        ("203.0.113.7:99999", None),
        ("[2001:db8::1]443", None),
        ("[2001:db8::1", None),
        ("fe80::1%eth0", None),
        ("203.0.113.7\x00", None),
        ("_hidden", None),
    ],
)
def test_parse_address(value, expected):
    parsed = parse_address(value)
    assert (str(parsed) if parsed is not None else None) == expected


@override_settings(TRUSTED_PROXIES=[PROXY])
@pytest.mark.parametrize(("forwarded", "expected"), FORWARDED)
def test_client_ip_is_always_an_address(forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    found = client_ip(request)
    assert found == expected
    ipaddress.ip_address(found)


def test_a_client_without_a_trusted_proxy_cannot_choose_its_address():
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    with override_settings(TRUSTED_PROXIES=[PROXY]):
        assert client_ip(request) == "192.0.2.1"


@override_settings(TRUSTED_PROXIES=[PROXY])
def test_an_unparsable_header_is_logged_once_a_minute_not_per_request(caplog):
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="unknown")
    with caplog.at_level(logging.WARNING, logger="portal.core.client_ip"):
        for _ in range(5):
            assert client_ip(request) == PROXY
    warnings = [r for r in caplog.records if r.name == "portal.core.client_ip"]
    assert len(warnings) == 1
    assert warnings[0].x_forwarded_for == "unknown"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=[PROXY])
@pytest.mark.parametrize(("forwarded", "expected"), FORWARDED)
def test_registration_post_behind_a_proxy_records_a_valid_address(forwarded, expected):
    journey = Journey(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded))
    response = journey.agree()
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="register.started")
    assert event.ip == expected
    response = journey.identity("nobody@example.jp")
    assert response.status_code in (200, 302)


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=[PROXY])
@pytest.mark.parametrize(("forwarded", "expected"), FORWARDED)
def test_login_post_behind_a_proxy_records_a_valid_address(
    make_jobseeker, settings, forwarded, expected
):
    settings.LOGIN_OTP_ENABLED = False
    seeker = make_jobseeker(email="taro@example.jp")
    user = get_user_model().objects.create_user(seeker.email, PASSWORD)
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    response = login_post(client, seeker.email)
    assert response.status_code == 302
    event = LoginEvent.objects.get(user=user)
    assert event.ip == expected
