import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from portal.jobseekers.models import JobSeeker
from tests.browser_client import BrowserClient as Client

PASSWORD = "Sakura#2026go"
NEW_PASSWORD = "Momiji$2027ok"
OTP_RE = re.compile(r"ワンタイムパスワード：(\d{6})")


def deliver_mail():
    call_command("deliver_mail", "--once")


def otp_from(smtp_server, address: str) -> str:
    """The one-time password in the latest mail the real SMTP server received for `address`."""
    deliver_mail()
    mails = [m for m in smtp_server.to(address) if OTP_RE.search(m.get_content())]
    assert mails, f"no one-time password mail for {address}"
    return OTP_RE.search(mails[-1].get_content()).group(1)


def login_post(client: Client, email: str, password: str = PASSWORD, **extra):
    return client.post(
        reverse("accounts:login"), {"login_id": email, "password": password}, **extra
    )


def otp_post(client: Client, code: str, *, remember: bool = False):
    data = {"code": code}
    if remember:
        data["remember"] = "on"
    return client.post(reverse("accounts:otp"), data)


@pytest.fixture
def make_account(make_jobseeker):
    """An opened My Page account: an active job seeker with a User holding PASSWORD."""

    def make(email: str | None = None, password: str = PASSWORD, **overrides):
        if email is not None:
            overrides["email"] = email
        seeker = make_jobseeker(**overrides)
        user = get_user_model().objects.create_user(seeker.email, password)
        JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)
        seeker.refresh_from_db()
        return seeker

    return make


@pytest.fixture
def account(make_account):
    return make_account("taro@example.jp", name="山田太郎", number="13010-00001234")


@pytest.fixture
def no_otp(settings):
    settings.LOGIN_OTP_ENABLED = False


@pytest.fixture
def logged_in(account, no_otp):
    """A client logged in through the login page as `account` (one-time password off)."""
    client = Client()
    response = login_post(client, account.email)
    assert response.status_code == 302, response.content.decode()
    return client
