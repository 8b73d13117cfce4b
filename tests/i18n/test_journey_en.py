"""A whole journey in English over HTTP with a real SMTP server: top → terms → identity → the
English key mail → password → done → login with the English one-time password mail → My Page;
then a password reset in English."""

import re

import pytest
from django.urls import reverse

from tests.registration.journey import GOOD_PASSWORD, Journey, deliver_mail

pytestmark = pytest.mark.django_db

KEY = re.compile(r"Auth key: (\d+)")
REFERENCE = re.compile(r"Reference number: ([A-Z0-9]{4}-[A-Z0-9]{4})")
OTP = re.compile(r"One-time password: (\d{6})")
DEADLINE = re.compile(r"Valid until: \d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} JST")
NEW_PASSWORD = "Momiji$2027ok"


def _english(html: str) -> str:
    assert '<html lang="en">' in html
    return html


def test_english_journey_from_the_top_page_to_my_page(make_jobseeker, smtp_server):
    make_jobseeker(email="emma@example.jp", name="Emma Clark")
    journey = Journey(language="en")
    client = journey.client

    top = _english(client.get("/").content.decode())
    assert "Open your Job Seeker My Page (register a password)" in top
    terms = _english(client.get(reverse("registration:terms")).content.decode())
    assert "Job Seeker My Page terms" in terms and "Article 1 (Purpose)" in terms
    assert journey.agree().url == reverse("registration:identity")
    identity = _english(client.get(reverse("registration:identity")).content.decode())
    assert "Enter your e-mail address (apply for password registration)" in identity
    # Full-width input is still accepted in English.
    response = journey.identity("ＥＭＭＡ＠example.jp", "１９９０-０４-０１")
    assert response.url == reverse("registration:password")

    deliver_mail()
    [key_mail] = smtp_server.to("emma@example.jp")
    body = key_mail.get_content()
    assert key_mail["Subject"] == "Password registration: your auth key"
    assert DEADLINE.search(body) and "within 50 minutes" in body
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", body)  # no Japanese left
    screen = _english(client.get(reverse("registration:password")).content.decode())
    assert REFERENCE.search(body).group(1) in screen
    assert "Set the password you will use to log in" in screen

    response = journey.complete(KEY.search(body).group(1))
    assert response.url == reverse("registration:done")
    done = _english(client.get(response.url).content.decode())
    assert "Your password is registered and your Job Seeker My Page is open." in done
    deliver_mail()
    assert smtp_server.to("emma@example.jp")[-1]["Subject"] == "Your Job Seeker My Page is open"

    login = _english(client.get(reverse("accounts:login")).content.decode())
    assert "Forgot your password?" in login
    response = client.post(
        reverse("accounts:login"), {"login_id": "emma@example.jp", "password": GOOD_PASSWORD}
    )
    assert response.url == reverse("accounts:otp")
    deliver_mail()
    otp_mail = smtp_server.to("emma@example.jp")[-1]
    assert otp_mail["Subject"] == "[Job Seeker My Page] Your one-time password for logging in"
    assert otp_mail.get_content().startswith("Dear Emma Clark,")
    response = client.post(
        reverse("accounts:otp"), {"code": OTP.search(otp_mail.get_content()).group(1)}
    )
    assert response.url == reverse("accounts:mypage")
    mypage = _english(client.get(response.url).content.decode())
    assert "My Page" in mypage and "Change password" in mypage and "Log out" in mypage
    profile = _english(client.get(reverse("accounts:profile")).content.decode())
    assert "1 April 1990" in profile


def test_english_password_reset(make_jobseeker, smtp_server):
    make_jobseeker(email="reset@example.jp", name="Emma Clark")
    journey = Journey(language="en")
    journey.start("reset@example.jp")
    deliver_mail()
    journey.complete(KEY.search(smtp_server.to("reset@example.jp")[-1].get_content()).group(1))
    client = Journey(language="en").client
    page = _english(client.get(reverse("registration:reset_start")).content.decode())
    assert "If you forgot your password or cannot log in" in page
    response = client.post(
        reverse("registration:reset_start"),
        {"email": "reset@example.jp", "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )
    assert response.url == reverse("registration:reset_password")
    deliver_mail()
    mail = smtp_server.to("reset@example.jp")[-1]
    assert mail["Subject"] == "Password reset: your auth key"
    assert DEADLINE.search(mail.get_content())
    response = client.post(
        reverse("registration:reset_password"),
        {
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "key": KEY.search(mail.get_content()).group(1),
        },
    )
    assert response.url == reverse("registration:reset_done")
    done = _english(client.get(response.url).content.decode())
    assert "Your password was reset." in done
    deliver_mail()
    assert smtp_server.to("reset@example.jp")[-1]["Subject"] == "Your password was reset"
    response = client.post(
        reverse("accounts:login"), {"login_id": "reset@example.jp", "password": NEW_PASSWORD}
    )
    assert response.url == reverse("accounts:otp")
