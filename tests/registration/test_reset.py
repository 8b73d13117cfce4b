"""パスワード再設定 (forgotten password) on the registration flow's machinery."""

import re

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.core.ratelimit import rate_limits_clear
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from tests.browser_client import BrowserClient as Client
from tests.registration.journey import GOOD_PASSWORD, Journey, deliver_mail, key_from

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Momiji!2027up"


class ResetJourney:
    def __init__(self):
        self.client = Client()

    def identity(self, email, birth_date="1990-04-01"):
        year, month, day = birth_date.split("-")
        return self.client.post(
            reverse("registration:reset_start"),
            {"email": email, "birth_year": year, "birth_month": month, "birth_day": day},
        )

    def complete(self, key, password=NEW_PASSWORD):
        return self.client.post(
            reverse("registration:reset_password"),
            {"password1": password, "password2": password, "key": key},
        )


@pytest.fixture
def opened(make_jobseeker, smtp_server):
    """A job seeker who opened their My Page through the registration screens."""
    seeker = make_jobseeker(email="open@example.jp")
    journey = Journey()
    journey.start("open@example.jp")
    deliver_mail()
    journey.complete(key_from(smtp_server.to("open@example.jp")[0]))
    seeker.refresh_from_db()
    assert seeker.status == JobSeeker.Status.ACTIVE
    return seeker


def test_reset_end_to_end_with_real_smtp(opened, smtp_server):
    reset = ResetJourney()
    page = reset.client.get(reverse("registration:reset_start")).content.decode()
    assert "パスワード再設定" in page and "生年月日" in page
    response = reset.identity("OPEN@example.jp")
    assert response.url == reverse("registration:reset_password")
    deliver_mail()
    mail = smtp_server.to("open@example.jp")[-1]
    assert mail["Subject"].strip() == "パスワード再設定申込受付通知"
    screen = reset.client.get(response.url).content.decode()
    assert "パスワード再設定" in screen and "パスワード再設定申込受付通知" in screen
    response = reset.complete(key_from(mail))
    assert response.url == reverse("registration:reset_done")
    assert "パスワード再設定完了" in reset.client.get(response.url).content.decode()
    assert authenticate(username="open@example.jp", password=NEW_PASSWORD) == opened.user
    assert authenticate(username="open@example.jp", password=GOOD_PASSWORD) is None
    deliver_mail()
    assert (
        smtp_server.to("open@example.jp")[-1]["Subject"].strip() == "パスワード再設定完了のお知らせ"
    )
    assert AuditEvent.objects.filter(action="reset.completed", target_id=opened.number).exists()


def test_reset_key_does_not_work_for_registration_and_back(opened, smtp_server):
    reset = ResetJourney()
    reset.identity("open@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("open@example.jp")[-1])
    # The reset's key typed into the registration screen of the same browser: no flow there.
    response = reset.client.post(
        reverse("registration:password"),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "key": key},
    )
    assert response.url == reverse("registration:terms")
    assert authenticate(username="open@example.jp", password=GOOD_PASSWORD) == opened.user


def _normalised(html):
    html = re.sub(r"[a-z]+@example\.jp", "ADDRESS", html)
    html = re.sub(r"[A-Z0-9]{4}-[A-Z0-9]{4}", "REF", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)


def test_reset_for_unknown_pending_and_mismatch_is_indistinguishable(opened, make_jobseeker):
    make_jobseeker(email="pending@example.jp")
    cases = {
        "active": ("open@example.jp", "1990-04-01"),
        "pending": ("pending@example.jp", "1990-04-01"),
        "mismatch": ("open@example.jp", "1970-01-01"),
        "unknown": ("nobody@example.jp", "1990-04-01"),
    }
    seen = {}
    for case, (email, birth_date) in cases.items():
        cache.clear()
        rate_limits_clear()
        OutboundMail.objects.all().delete()
        reset = ResetJourney()
        reset.client.get(reverse("registration:reset_start"))
        with CaptureQueriesContext(connection) as queries:
            response = reset.identity(email, birth_date)
        statements = [q["sql"].split()[0] for q in queries.captured_queries]
        page = reset.client.get(response.url)
        seen[case] = (
            response.status_code,
            response.url,
            sorted(response.cookies.keys()),
            statements,
            _normalised(page.content.decode()),
            OutboundMail.objects.count(),
        )
    for case in cases:
        assert seen[case] == seen["active"], case


def test_which_mail_each_reset_case_gets(opened, make_jobseeker, smtp_server):
    make_jobseeker(email="pending@example.jp")
    ResetJourney().identity("pending@example.jp")
    ResetJourney().identity("nobody@example.jp")
    deliver_mail()
    assert [m["Subject"].strip() for m in smtp_server.to("pending@example.jp")] == [
        "求職者マイページのパスワード再設定についてのお知らせ"
    ]
    assert smtp_server.to("nobody@example.jp") == []


def test_pending_account_cannot_be_reset_into_existence(make_jobseeker, smtp_server):
    seeker = make_jobseeker(email="pending@example.jp")
    reset = ResetJourney()
    reset.identity("pending@example.jp")
    response = reset.complete("12345678")
    assert "認証キーが正しくありません" in response.content.decode()
    seeker.refresh_from_db()
    assert seeker.status == JobSeeker.Status.PENDING and seeker.user is None


def _login(client, password):
    return client.post(
        reverse("accounts:login"), {"login_id": "open@example.jp", "password": password}
    )


def test_reset_by_mailed_key_clears_a_login_lock(opened, smtp_server, settings):
    settings.LOGIN_OTP_ENABLED = False
    attacker = Client()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP):
        _login(attacker, "Wrong#pass1")
    owner = Client()
    locked = _login(owner, GOOD_PASSWORD)
    assert "一時的に停止しています" in locked.content.decode()

    reset = ResetJourney()
    reset.identity("open@example.jp")
    deliver_mail()
    assert reset.complete(key_from(smtp_server.to("open@example.jp")[-1])).status_code == 302
    response = _login(owner, NEW_PASSWORD)
    assert response.status_code == 302
    assert owner.get(reverse("accounts:mypage")).status_code == 200


def test_reset_ends_sessions_opened_with_the_old_password(opened, smtp_server, settings):
    settings.LOGIN_OTP_ENABLED = False
    elsewhere = Client()
    assert _login(elsewhere, GOOD_PASSWORD).status_code == 302
    assert elsewhere.get(reverse("accounts:mypage")).status_code == 200
    reset = ResetJourney()
    reset.identity("open@example.jp")
    deliver_mail()
    reset.complete(key_from(smtp_server.to("open@example.jp")[-1]))
    response = elsewhere.get(reverse("accounts:mypage"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
