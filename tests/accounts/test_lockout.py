"""Lockout (docs/architecture.md, "Login"): per ID and IP first,
 a higher account-wide threshold, kept in the
database, shown for any ID that reaches it (existing or not), lifted by time, by staff or by a
reset with the mailed key."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from portal.accounts.models import LoginEvent, LoginThrottle
from portal.accounts.selectors import login_lock_status
from portal.accounts.services import login as services
from portal.accounts.services.lockout import login_lock_clear
from portal.audit.models import AuditEvent
from portal.core.origin import RequestOrigin
from tests.accounts.conftest import PASSWORD, login_post
from tests.browser_client import BrowserClient as Client
from tests.staff import staff_login
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db

LOCKED = "このIDでのログインを一時的に停止しています。"
WRONG = "Wrong#pass1"


def fail(client, login_id, times, **extra):
    response = None
    for _ in range(times):
        response = login_post(client, login_id, WRONG, **extra)
    return response.content.decode()


def test_fifth_failure_locks_and_the_message_says_when_and_how(account, no_otp, clock):
    client = Client()
    page = fail(client, account.email, 4)
    assert LOCKED not in page
    page = fail(client, account.email, 1)
    assert LOCKED in page
    assert "以降にもう一度お試しください" in page
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}時\d{2}分以降", page)
    assert "パスワードを忘れた方" in page and "ハローワークの窓口" in page
    # The right password does not get in while the lock holds.
    page = login_post(client, account.email, PASSWORD).content.decode()
    assert LOCKED in page and "_auth_user_id" not in client.session
    assert LoginEvent.objects.filter(user=account.user, outcome="locked").count() == 1


def test_an_unknown_id_is_locked_exactly_like_a_real_one(account, no_otp):
    def normalised(page, login_id):
        page = page.replace(login_id, "ID")
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", page)
        return re.sub(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}時\d{2}分", "WHEN", page)

    pages = {}
    for login_id in (account.email, "nobody@example.jp"):
        client = Client()
        before = normalised(fail(client, login_id, 4), login_id)
        locked = normalised(fail(client, login_id, 1), login_id)
        pages[login_id] = (before, locked)
        assert LOCKED in locked
        assert login_lock_status(login_id, RequestOrigin(ip="127.0.0.1")).locked
    assert pages[account.email] == pages["nobody@example.jp"]
    # Kept in the database under an HMAC of the ID, for both.
    assert LoginThrottle.objects.filter(locked_until__isnull=False).count() == 2
    assert not LoginThrottle.objects.filter(login_key__contains="@").exists()


def test_the_lock_is_per_ip_first_then_account_wide(account, no_otp, settings):
    assert settings.LOGIN_FAILURES_PER_ACCOUNT == 20
    fail(Client(), account.email, 5, REMOTE_ADDR="10.0.0.1")
    # Another office (IP) is not locked out by the first one's failures.
    other = Client()
    assert login_post(other, account.email, REMOTE_ADDR="10.0.0.2").status_code == 302
    # Success from 10.0.0.2 cleared that IP's and the account-wide counter; now spread 20
    # failures over IPs that each stay under 5, and every IP is locked.
    for n in range(5):
        fail(Client(), account.email, 4, REMOTE_ADDR=f"10.0.1.{n}")
    page = login_post(Client(), account.email, PASSWORD, REMOTE_ADDR="10.0.2.1").content
    assert LOCKED in page.decode()


def test_the_lock_ends_after_thirty_minutes(account, no_otp, clock, settings):
    client = Client()
    fail(client, account.email, 5)
    clock.advance(minutes=settings.LOGIN_LOCK_MINUTES - 1)
    assert LOCKED in login_post(client, account.email).content.decode()
    clock.advance(minutes=1, seconds=1)
    assert login_post(client, account.email).status_code == 302


def test_a_success_clears_the_counter(account, no_otp):
    fail(Client(), account.email, 4)
    assert login_post(Client(), account.email).status_code == 302
    page = fail(Client(), account.email, 4)
    assert LOCKED not in page


def test_old_failures_are_forgotten_after_the_window(account, no_otp, clock, settings):
    fail(Client(), account.email, 4)
    clock.advance(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES + 1)
    assert LOCKED not in fail(Client(), account.email, 4)


def test_lock_clear_service_lifts_every_lock_of_the_account(account, no_otp):
    fail(Client(), account.email, 5, REMOTE_ADDR="10.0.0.1")
    fail(Client(), account.email, 5, REMOTE_ADDR="10.0.0.2")
    assert login_lock_clear(account.user, reason="test") == 2
    assert login_post(Client(), account.email, REMOTE_ADDR="10.0.0.1").status_code == 302
    assert AuditEvent.objects.filter(action="account.lock_cleared").exists()


def test_admin_login_has_the_same_lockout(client, account, smtp_server):
    get_user_model().objects.create_superuser("staff@example.jp", PASSWORD)
    url = reverse("admin:login")
    for _ in range(5):
        client.post(url, {"username": "staff@example.jp", "password": WRONG})
    response = client.post(url, {"username": "staff@example.jp", "password": PASSWORD})
    page = response.content.decode()
    assert response.status_code == 200 and LOCKED in page
    assert "_auth_user_id" not in client.session
    staff = get_user_model().objects.get(email="staff@example.jp")
    failures = LoginEvent.objects.filter(user=staff, channel="staff", outcome="password_failure")
    assert failures.count() == 5
    login_lock_clear(staff)
    response = staff_login(client, smtp_server, "staff@example.jp", PASSWORD)
    assert response.status_code == 302
    assert LoginEvent.objects.filter(user=staff, outcome="success", channel="staff").exists()


def test_admin_login_counts_toward_the_job_seekers_lock(client, account, no_otp):
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": account.email, "password": WRONG})
    assert LOCKED in login_post(Client(), account.email).content.decode()


def test_a_reset_with_the_mailed_key_clears_the_lock(account, no_otp, smtp_server):
    from tests.registration.journey import deliver_mail, key_from

    fail(Client(), account.email, 5)
    reset = Client()
    reset.post(
        reverse("registration:reset_start"),
        {"email": account.email, "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )
    deliver_mail()
    key = key_from(smtp_server.to(account.email)[-1])
    response = reset.post(
        reverse("registration:reset_password"),
        {"password1": "Momiji$2027ok", "password2": "Momiji$2027ok", "key": key},
    )
    assert response.url == reverse("registration:reset_done")
    assert not login_lock_status(account.email, RequestOrigin(ip="127.0.0.1")).locked
    assert login_post(Client(), account.email, "Momiji$2027ok").status_code == 302


needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel logins need PostgreSQL"
)


@pytest.mark.django_db(transaction=True)
@needs_postgresql
def test_parallel_guesses_at_an_unknown_id_run_no_more_checks_than_the_threshold(
    account, no_otp, monkeypatch, settings
):
    checks = []
    real = services._password_matches
    monkeypatch.setattr(services, "_password_matches", lambda u, p: checks.append(1) or real(u, p))
    statuses = run_at_once(
        [
            lambda n=n: login_post(Client(), "nobody@example.jp", f"Guess#{n}x1").status_code
            for n in range(12)
        ]
    )
    assert statuses == [200] * 12
    assert len(checks) == settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP
    assert login_lock_status("nobody@example.jp", RequestOrigin(ip="127.0.0.1")).locked
    assert LOCKED in login_post(Client(), "nobody@example.jp").content.decode()


@pytest.mark.django_db(transaction=True)
@needs_postgresql
@pytest.mark.parametrize("otp", [False, True], ids=["login-at-once", "one-time-password"])
def test_parallel_failures_and_logins_from_several_ips_all_get_their_answer(account, settings, otp):
    """Wrong passwords count, right ones clear the counters (a login at once) or take their
    attempt back (a one-time password follows), all at the same time on the same account-wide
    counter: every request gets its answer, none fails on a lock."""
    settings.LOGIN_OTP_ENABLED = otp
    calls, expected = [], []
    for n in range(4):
        ip = f"10.0.3.{n}"
        for _ in range(2):
            calls.append(lambda ip=ip: login_post(Client(), account.email, WRONG, REMOTE_ADDR=ip))
            expected.append(200)
        calls.append(lambda ip=ip: login_post(Client(), account.email, REMOTE_ADDR=ip))
        expected.append(302)
    responses = run_at_once(calls)
    assert [response.status_code for response in responses] == expected
    assert not LoginThrottle.objects.filter(locked_until__isnull=False).exists()
    account_wide = LoginThrottle.objects.filter(scope=LoginThrottle.Scope.ACCOUNT).first()
    assert account_wide is None or account_wide.failures <= 8
