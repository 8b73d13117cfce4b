"""JSON logs carry a request id and never a secret."""

import io
import json
import logging
import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from pythonjsonlogger.json import JsonFormatter

from portal.ops.request_id import RequestIdFilter, request_id_from_header
from tests.registration.journey import GOOD_PASSWORD, Journey, deliver_mail, key_from


@pytest.fixture
def json_logs():
    """Every record of every logger at DEBUG, formatted by the configured JSON formatter with
    the request-id filter, as production writes them. Returns a function giving the lines."""
    stream = io.StringIO()
    config = django_settings.LOGGING["formatters"]["json"]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(fmt=config["fmt"], timestamp=True))
    handler.addFilter(RequestIdFilter())
    # The test's own SMTP server (aiosmtpd, logger "mail.log") logs what it receives; it stands
    # for the outside world, not for the service.
    handler.addFilter(lambda record: not record.name.startswith("mail.log"))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_sane_request_id_is_kept_and_others_replaced():
    assert request_id_from_header("lb-7f3a9c2e-0001") == "lb-7f3a9c2e-0001"
    assert request_id_from_header("Root=1-67891233-abcdef012345678912345678")
    for bad in (None, "", "short", "a" * 200, "id\nFORGED log line", 'x" onload="1234'):
        new = request_id_from_header(bad)
        assert new != bad and re.fullmatch(r"[0-9a-f]{32}", new)


@pytest.mark.django_db
def test_request_id_in_response_and_in_every_log_record(client, json_logs):
    response = client.get(reverse("registration:top"), HTTP_X_REQUEST_ID="trace-1234567890")
    assert response["X-Request-ID"] == "trace-1234567890"
    [access] = [r for r in json_logs() if r["name"] == "portal.access"]
    assert access["request_id"] == "trace-1234567890"
    assert access["view"] == "registration:top" and access["status"] == 200
    assert access["path"] == "/" and "timestamp" in access
    assert 0 < access["cpu_ms"] <= access["duration_ms"] + 1

    other = client.get(reverse("registration:top"), HTTP_X_REQUEST_ID="bad\r\nid")
    assert re.fullmatch(r"[0-9a-f]{32}", other["X-Request-ID"])


def test_records_outside_a_request_have_a_placeholder_id(json_logs):
    logging.getLogger("portal.test").warning("outside")
    [record] = [r for r in json_logs() if r["name"] == "portal.test"]
    assert record["request_id"] == "-"


@pytest.mark.django_db
def test_a_whole_flow_logs_neither_the_password_nor_the_key(make_jobseeker, smtp_server, json_logs):
    seeker = make_jobseeker(email="logs@example.jp")
    journey = Journey()
    journey.client.get(reverse("registration:terms"))
    journey.agree()
    journey.identity("logs@example.jp")
    journey.identity("logs@example.jp")  # a repeat lands elsewhere, and is logged too
    deliver_mail()
    key = key_from(smtp_server.to("logs@example.jp")[0])
    journey.complete("00000000" if key != "00000000" else "11111111")  # a wrong key first
    journey.complete(key)
    seeker.refresh_from_db()
    assert seeker.user is not None
    journey.client.post(
        reverse("accounts:login"), {"login_id": "logs@example.jp", "password": GOOD_PASSWORD}
    )
    journey.client.post(
        reverse("accounts:login"), {"login_id": "logs@example.jp", "password": "Wrong#pass1"}
    )
    deliver_mail()

    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in json_logs())
    assert len([r for r in json_logs() if r["name"] == "portal.access"]) >= 8
    for secret in (GOOD_PASSWORD, key, seeker.user.password, "Wrong#pass1"):
        assert secret not in text


@pytest.mark.django_db
def test_django_request_errors_carry_the_request_id(client, json_logs):
    client.get("/no/such/page/", HTTP_X_REQUEST_ID="trace-notfound-1")
    [warning] = [r for r in json_logs() if r["name"] == "django.request"]
    assert warning["request_id"] == "trace-notfound-1"
    logging.getLogger("portal.test").warning("after")
    assert next(r for r in json_logs() if r["name"] == "portal.test")["request_id"] == "-"
