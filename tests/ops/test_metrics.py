"""/metrics: HTTP counts and latencies, business counts read from the database, access
control, and sums over gunicorn workers."""

import socket

import httpx
import pytest
from django.core.management import call_command
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from portal.registration.flow import Stage
from portal.registration.models import RegistrationFlow
from tests.ops.procs import copy_sqlite, gunicorn, production_env
from tests.registration.journey import Journey, deliver_mail, key_from

pytestmark = pytest.mark.django_db


def scrape(client, **extra) -> dict:
    response = client.get(reverse("ops:metrics"), **extra)
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_and_latencies_by_view_method_and_status(client):
    before = scrape(client)
    client.get(reverse("registration:top"))
    client.get(reverse("registration:top"))
    client.post(reverse("registration:top"))  # 405
    client.get("/no/such/page/")
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    top = {"view": "registration:top", "method": "GET"}
    assert delta("mypage_http_requests_total", status="200", **top) == 2
    assert (
        delta("mypage_http_requests_total", status="405", view="registration:top", method="POST")
        == 1
    )
    assert delta("mypage_http_requests_total", status="404", view="unmatched", method="GET") == 1
    assert delta("mypage_http_request_duration_seconds_count", **top) == 2
    assert delta("mypage_http_request_duration_seconds_bucket", le="+Inf", **top) == 2


def test_business_counts_from_the_database(client, make_jobseeker, smtp_server, clock):
    make_jobseeker(email="ok@example.jp")
    done = Journey()
    done.start("ok@example.jp")
    Journey().start("nobody@example.jp")  # suppressed mail, flow never completes
    wrong = Journey()
    make_jobseeker(email="wrong@example.jp")
    wrong.start("wrong@example.jp")
    deliver_mail()
    done.complete(key_from(smtp_server.to("ok@example.jp")[0]))
    for _ in range(5):
        wrong.complete("99999999")
    Journey().agree()  # open, then abandoned past its deadline
    clock.advance(hours=3)

    found = scrape(client)
    assert value(found, "mypage_registration_flows_started_total", purpose="register") == 4
    assert value(found, "mypage_registration_flows_completed_total", purpose="register") == 1
    failed = "mypage_registration_flows_failed_total"
    assert value(found, failed, purpose="register", reason="too_many_wrong_keys") == 1
    assert value(found, failed, purpose="register", reason="expired") == 2  # nobody + abandoned
    assert value(found, "mypage_mails_queued_total") == 3  # two keys, one completion notice
    assert value(found, "mypage_mails_sent_total") == 2
    assert value(found, "mypage_mails_withheld_total", reason="suppressed") == 1
    assert value(found, "mypage_mail_outbox_pending", status="queued") == 1
    assert value(found, "mypage_mail_outbox_oldest_due_age_seconds") >= 3 * 3600
    assert value(found, "mypage_mail_attempts_total", outcome="ok") == 2


def test_login_lockouts_in_force(client, make_jobseeker, settings):
    from portal.accounts.models import LoginThrottle

    make_jobseeker(email="lock@example.jp")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP):
        client.post(
            reverse("accounts:login"), {"login_id": "x@example.jp", "password": "Bad#pass1"}
        )
    assert LoginThrottle.objects.filter(locked_until__isnull=False).exists()
    found = scrape(client)
    assert value(found, "mypage_login_lockouts_active", scope="pair") == 1


def test_counters_survive_purge(client, settings, clock):
    for _ in range(3):
        Journey().agree()
    RegistrationFlow.objects.update(stage=Stage.ENDED, ended_reason="expired")
    before = scrape(client)
    clock.advance(days=settings.RETENTION_FLOWS_DAYS + 1)
    call_command("purge")
    assert not RegistrationFlow.objects.exists()
    after = scrape(client)
    for name, labels in (
        ("mypage_registration_flows_started_total", {"purpose": "register"}),
        ("mypage_registration_flows_failed_total", {"purpose": "register", "reason": "expired"}),
    ):
        assert value(after, name, **labels) == value(before, name, **labels) == 3


def test_metrics_are_not_public(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1/32"]
    settings.METRICS_TOKEN = ""
    url = reverse("ops:metrics")
    assert client.get(url).status_code == 200  # loopback
    assert client.get(url, REMOTE_ADDR="203.0.113.9").status_code == 403
    # A proxy on loopback that is not a trusted proxy: its clients are not loopback.
    assert client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403

    settings.METRICS_TOKEN = "scrape-" + "k" * 40
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong", **outside).status_code == 403
    assert (
        client.get(
            url, HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}", **outside
        ).status_code
        == 200
    )

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.METRICS_ALLOWED_IPS = ["192.0.2.0/24"]
    via_proxy = {"REMOTE_ADDR": "10.0.0.5"}
    assert client.get(url, HTTP_X_FORWARDED_FOR="192.0.2.7", **via_proxy).status_code == 200
    assert client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.1", **via_proxy).status_code == 403


def test_counts_are_summed_over_gunicorn_workers(tmp_path, migrated_sqlite):
    env = production_env(
        DATABASE_URL=copy_sqlite(migrated_sqlite, tmp_path),
        SECURE_SSL_REDIRECT="0",
        PROMETHEUS_MULTIPROC_DIR=tmp_path / "prometheus",
    )
    with gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as base:
        before = samples(httpx.get(f"{base}/metrics").text)
        # A half-sent request keeps one sync worker busy, so the other one serves the next
        # requests; then the first finishes its own: both workers have counted.
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            for _ in range(20):
                assert httpx.get(f"{base}/healthz").status_code == 200
            slow.sendall(b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := slow.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
        after = samples(httpx.get(f"{base}/metrics").text)
        pids = {f.name for f in (tmp_path / "prometheus").glob("counter_*.db")}
    key = {"view": "ops:healthz", "method": "GET", "status": "200"}
    counted = value(after, "mypage_http_requests_total", **key) - value(
        before, "mypage_http_requests_total", **key
    )
    assert counted == 21
    assert len(pids) == 2, "both workers wrote their own counters"
