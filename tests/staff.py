"""Logging in to the staff admin in tests: both steps, the password and the mailed one-time
password, or (for tests about something else) a session marked as having passed both."""

import re

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from portal.accounts.staff_auth import STAFF_VERIFIED_SESSION_KEY

OTP_RE = re.compile(r"(?:ワンタイムパスワード：|One-time password: )(\d+)")


def staff_force_login(client: Client, user) -> Client:
    """client.force_login, plus the staff login's second-factor marker the admin site checks."""
    client.force_login(user)
    session = client.session
    session[STAFF_VERIFIED_SESSION_KEY] = str(user.pk)
    session.save()
    return client


def staff_password_post(client: Client, email: str, password: str, **extra):
    return client.post(reverse("admin:login"), {"username": email, "password": password}, **extra)


def staff_otp_from(smtp_server, address: str) -> str:
    """The one-time password in the latest mail the real SMTP server received for `address`."""
    call_command("deliver_mail", "--once")
    mails = [m for m in smtp_server.to(address) if OTP_RE.search(m.get_content())]
    assert mails, f"no one-time password mail for {address}"
    return OTP_RE.search(mails[-1].get_content()).group(1)


def staff_login(client: Client, smtp_server, email: str, password: str, **extra):
    """Both steps through the pages, as a browser would; returns the OTP page's response."""
    response = staff_password_post(client, email, password, **extra)
    assert response.status_code == 302 and response.url == reverse("admin:staff_otp"), response
    code = staff_otp_from(smtp_server, email)
    return client.post(reverse("admin:staff_otp"), {"code": code}, **extra)
