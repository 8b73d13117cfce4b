"""Cases found in review of the login: each one a way to get around a limit or to learn or
block something."""

import pytest
from django.db import connection
from django.urls import reverse

from portal.accounts.models import LoginChallenge, LoginEvent
from portal.accounts.services import login as services
from portal.mail.models import OutboundMail
from tests.accounts.conftest import PASSWORD, login_post
from tests.browser_client import BrowserClient as Client
from tests.registration.journey import deliver_mail, key_from
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel logins need PostgreSQL")
def test_parallel_guesses_run_no_more_checks_than_the_threshold(account, no_otp, monkeypatch):
    checks = []
    real = services._password_matches
    monkeypatch.setattr(services, "_password_matches", lambda u, p: checks.append(1) or real(u, p))
    statuses = run_at_once(
        [
            lambda n=n: login_post(Client(), account.email, f"Guess#{n}x1").status_code
            for n in range(12)
        ]
    )
    assert statuses == [200] * 12
    assert len(checks) <= 5  # LOGIN_FAILURES_PER_ACCOUNT_AND_IP
    assert "一時的に停止しています" in login_post(Client(), account.email).content.decode()


def test_a_right_password_does_not_count_as_an_attempt(account, no_otp, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP - 1):
        login_post(Client(), account.email, "Wrong#pass1")
    assert login_post(Client(), account.email).status_code == 302  # the 5th, right, attempt


def test_notices_cannot_use_up_the_owners_key_mails(account, smtp_server, settings):
    """A stranger sends reset requests with a wrong birth date (notice mails, no key): the
    owner's own reset still gets its key."""
    for _ in range(settings.MAILS_PER_ADDRESS_PER_DAY):
        stranger = Client()
        stranger.post(
            reverse("registration:reset_start"),
            {"email": account.email, "birth_year": "1970", "birth_month": "1", "birth_day": "1"},
        )
    owner = Client()
    owner.post(
        reverse("registration:reset_start"),
        {"email": account.email, "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )
    deliver_mail()
    keyed = [m for m in smtp_server.to(account.email) if "認証キー：" in m.get_content()]
    assert len(keyed) == 1
    assert key_from(keyed[0])


def test_a_reset_ends_a_one_time_password_step_begun_with_the_old_password(
    account, smtp_server, settings
):
    settings.LOGIN_OTP_ENABLED = True
    stranger = Client()
    assert login_post(stranger, account.email).url == reverse("accounts:otp")
    owner = Client()
    owner.post(
        reverse("registration:reset_start"),
        {"email": account.email, "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )
    deliver_mail()
    key = key_from(
        next(m for m in smtp_server.to(account.email) if "認証キー：" in m.get_content())
    )
    new = "Kaede#2027xyz"
    owner.post(
        reverse("registration:reset_password"),
        {"password1": new, "password2": new, "key": key},
    )
    assert not LoginChallenge.objects.filter(ended_at__isnull=True).exists()


def test_outdated_hash_costs_the_dummy_check_too(account, no_otp, settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["portal.accounts.hashers.TunedArgon2PasswordHasher"]
    settings.ARGON2_MEMORY_COST_KIB = 1024
    settings.ARGON2_TIME_COST = 1
    user = account.user
    user.set_password(PASSWORD)
    user.save()
    settings.ARGON2_MEMORY_COST_KIB = 2048  # the operator raised the parameters
    dummy = []
    real = services._password_check_dummy
    monkeypatch.setattr(services, "_password_check_dummy", lambda p: dummy.append(1) or real(p))
    login_post(Client(), account.email, "Wrong#pass1")
    login_post(Client(), "nobody@example.jp", "Wrong#pass1")
    assert dummy == [1, 1]  # the outdated account costs at least what an unknown ID costs


def test_login_attempts_per_ip_are_limited_whatever_the_id(make_account, no_otp, settings):
    settings.LOGIN_ATTEMPTS_PER_IP_PER_HOUR = 3
    client = Client()
    for n in range(3):
        login_post(client, f"spray{n}@example.jp", "Summer#2026")
    page = login_post(client, "spray9@example.jp", "Summer#2026").content.decode()
    assert "短時間に多くのログインがありました" in page


def test_attempts_on_a_locked_id_do_not_flood_the_login_history(account, no_otp, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP + 30):
        login_post(Client(), account.email, "Wrong#pass1")
    locked = LoginEvent.objects.filter(user=account.user, outcome=LoginEvent.Outcome.LOCKED)
    assert locked.count() == 1


@pytest.mark.parametrize(
    "name", ["registration:terms", "registration:reset_start", "accounts:login"]
)
def test_flow_and_login_pages_are_never_cached(client, name):
    assert "no-store" in client.get(reverse(name))["Cache-Control"]


def test_outbox_key_mail_cap_is_separate_from_notices(db, settings):
    from portal.mail.services import mail_queue

    settings.MAILS_PER_ADDRESS_PER_DAY = 1
    notice = mail_queue(to="x@example.jp", kind="identity_mismatch", context={})
    key = mail_queue(to="x@example.jp", kind="registration_key", context={}, secret="12345678")
    assert (notice.status, key.status) == ("queued", "queued")
    again = mail_queue(to="x@example.jp", kind="registration_key", context={}, secret="87654321")
    assert again.status == OutboundMail.Status.CAPPED
