"""ワンタイムパスワード: mailed after ID + password (real SMTP), 6 digits, hashed, 10 minutes,
single use, 5 wrong tries end the attempt and count toward the lockout, hourly mail cap,
resend with cool-down, trusted-browser skip and its revocation, switchable off."""

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.accounts.models import LoginChallenge, LoginEvent, TrustedBrowser
from portal.accounts.selectors import login_lock_status
from portal.core.origin import RequestOrigin
from portal.mail.models import OutboundMail
from tests.accounts.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    deliver_mail,
    login_post,
    otp_from,
    otp_post,
)
from tests.browser_client import BrowserClient as Client

pytestmark = pytest.mark.django_db

COOKIE = django_settings.TRUSTED_BROWSER_COOKIE_NAME


def start(client, account):
    response = login_post(client, account.email)
    assert response.status_code == 302 and response.url == reverse("accounts:otp")
    return response


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_right_code_logs_in_once(account, smtp_server):
    client = Client()
    start(client, account)
    assert "_auth_user_id" not in client.session  # not logged in before the second step
    page = client.get(reverse("accounts:otp")).content.decode()
    assert "ワンタイムパスワード" in page and account.email in page
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert "次回から一定期間ワンタイムパスワードの入力を省略する" in page
    code = otp_from(smtp_server, account.email)
    mail = smtp_server.to(account.email)[-1]
    assert code not in mail["Subject"]
    assert len(code) == 6 and code.isdigit()
    # Only an HMAC is stored: neither the challenge nor the outbox holds the code in clear.
    challenge = LoginChallenge.objects.get(user=account.user)
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64
    assert code not in OutboundMail.objects.get(kind="login_otp").body
    response = otp_post(client, f" {code[:3]}-{code[3:]} ")  # spaces and hyphens are fine
    assert response.url == reverse("accounts:mypage")
    assert client.session["_auth_user_id"] == str(account.user.pk)
    assert COOKIE not in response.cookies  # not asked to remember this browser
    # Single use: the same code does not open a second login.
    other = Client()
    start(other, account)
    assert otp_post(other, code).status_code == 200


def test_five_wrong_codes_end_the_attempt_and_count_toward_the_lockout(
    account, smtp_server, settings
):
    client = Client()
    start(client, account)
    code = otp_from(smtp_server, account.email)
    for n in range(4):
        page = otp_post(client, other_code(code)).content.decode()
        assert "ワンタイムパスワードが正しくありません" in page
        assert f"あと{4 - n}回" in page
    response = otp_post(client, other_code(code))
    assert response.url == reverse("accounts:login")
    page = client.get(response.url).content.decode()
    assert "一時的に停止しています" in page  # 5 wrong codes reached the 5-failure lock
    assert LoginEvent.objects.filter(user=account.user, outcome="otp_failure").count() == 5
    assert login_lock_status(account.email, RequestOrigin(ip="127.0.0.1")).locked
    # The attempt is over: even the right code no longer works.
    assert otp_post(client, code).url == reverse("accounts:login")


def test_wrong_codes_end_the_attempt_even_below_the_lock_threshold(account, smtp_server, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP = 10
    client = Client()
    start(client, account)
    code = otp_from(smtp_server, account.email)
    for _ in range(5):
        response = otp_post(client, other_code(code))
    assert response.url == reverse("accounts:login")
    page = client.get(response.url).content.decode()
    assert "5回間違えたため" in page
    assert not login_lock_status(account.email, RequestOrigin(ip="127.0.0.1")).locked
    # The failures were counted: five more password failures reach the raised threshold.
    for _ in range(4):
        login_post(Client(), account.email, "Wrong#pass1")
    assert not login_lock_status(account.email, RequestOrigin(ip="127.0.0.1")).locked
    login_post(Client(), account.email, "Wrong#pass1")
    assert login_lock_status(account.email, RequestOrigin(ip="127.0.0.1")).locked


def test_expired_code_has_its_own_message(account, smtp_server, clock, settings):
    client = Client()
    start(client, account)
    code = otp_from(smtp_server, account.email)
    clock.advance(minutes=settings.LOGIN_OTP_LIFETIME_MINUTES, seconds=1)
    page = otp_post(client, code).content.decode()
    assert "有効期限" in page and "再送信" in page
    assert "正しくありません" not in page
    assert "_auth_user_id" not in client.session
    assert not LoginEvent.objects.filter(outcome="otp_failure").exists()


def test_code_works_until_just_before_ten_minutes(account, smtp_server, clock):
    client = Client()
    start(client, account)
    code = otp_from(smtp_server, account.email)
    clock.advance(minutes=9, seconds=59)
    assert otp_post(client, code).url == reverse("accounts:mypage")


def test_resend_has_a_cool_down_and_replaces_the_code(account, smtp_server, clock):
    client = Client()
    start(client, account)
    first = otp_from(smtp_server, account.email)
    response = client.post(reverse("accounts:otp_resend"))
    assert response.url == reverse("accounts:otp")
    assert "秒後からできます" in client.get(response.url).content.decode()
    clock.advance(seconds=61)
    client.post(reverse("accounts:otp_resend"))
    assert "再送信しました" in client.get(reverse("accounts:otp")).content.decode()
    second = otp_from(smtp_server, account.email)
    assert len(smtp_server.to(account.email)) == 2
    if first != second:
        assert otp_post(client, first).status_code == 200  # the old code is dead
    assert otp_post(client, second).url == reverse("accounts:mypage")


def test_resend_after_expiry_gives_a_fresh_ten_minutes(account, smtp_server, clock):
    client = Client()
    start(client, account)
    otp_from(smtp_server, account.email)
    clock.advance(minutes=11)
    client.post(reverse("accounts:otp_resend"))
    code = otp_from(smtp_server, account.email)
    clock.advance(minutes=9)
    assert otp_post(client, code).url == reverse("accounts:mypage")


def test_one_time_password_mails_are_capped_per_hour(account, smtp_server, clock, settings):
    settings.LOGIN_OTP_MAILS_PER_HOUR = 2
    settings.MAILS_PER_ADDRESS_PER_DAY = 50
    client = Client()
    start(client, account)
    clock.advance(seconds=61)
    client.post(reverse("accounts:otp_resend"))
    clock.advance(seconds=61)
    client.post(reverse("accounts:otp_resend"))
    assert "上限" in client.get(reverse("accounts:otp")).content.decode()
    page = login_post(Client(), account.email).content.decode()
    assert "送信回数が上限に達した" in page
    deliver_mail()
    assert len(smtp_server.to(account.email)) == 2
    clock.advance(hours=1)
    assert login_post(Client(), account.email).url == reverse("accounts:otp")


def remember_browser(client, account, smtp_server):
    start(client, account)
    response = otp_post(client, otp_from(smtp_server, account.email), remember=True)
    assert response.url == reverse("accounts:mypage")
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 30 * 24 * 60 * 60
    return cookie.value


def test_a_trusted_browser_skips_the_step_for_thirty_days(account, smtp_server, clock):
    client = Client()
    remember_browser(client, account, smtp_server)
    client.post(reverse("accounts:logout"))
    assert login_post(client, account.email).url == reverse("accounts:mypage")
    assert len(smtp_server.to(account.email)) == 1  # no second mail
    # Another browser still gets the step.
    assert login_post(Client(), account.email).url == reverse("accounts:otp")
    client.post(reverse("accounts:logout"))
    clock.advance(days=30, seconds=1)
    assert login_post(client, account.email).url == reverse("accounts:otp")


def test_the_cookie_is_bound_to_its_account(make_account, smtp_server):
    first = make_account("first@example.jp")
    second = make_account("second@example.jp")
    client = Client()
    value = remember_browser(client, first, smtp_server)
    client.post(reverse("accounts:logout"))
    assert login_post(client, second.email).url == reverse("accounts:otp")
    forged = Client()
    forged.cookies[COOKIE] = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    assert login_post(forged, first.email).url == reverse("accounts:otp")


def test_a_password_change_revokes_trusted_browsers(account, smtp_server, settings):
    settings.MAILS_PER_ADDRESS_PER_DAY = 50
    laptop, phone = Client(), Client()
    remember_browser(laptop, account, smtp_server)
    remember_browser(phone, account, smtp_server)
    assert TrustedBrowser.objects.filter(user=account.user).count() == 2
    laptop.post(
        reverse("accounts:password_change"),
        {
            "current_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert not TrustedBrowser.objects.filter(user=account.user).exists()
    laptop.post(reverse("accounts:logout"))
    assert login_post(laptop, account.email, NEW_PASSWORD).url == reverse("accounts:otp")
    assert login_post(phone, account.email, NEW_PASSWORD).url == reverse("accounts:otp")


def test_a_password_change_outside_my_page_also_voids_old_cookies(account, smtp_server):
    client = Client()
    remember_browser(client, account, smtp_server)
    client.post(reverse("accounts:logout"))
    user = account.user
    user.set_password(NEW_PASSWORD)  # e.g. a path that forgot to revoke: the cookie is bound
    user.save()
    assert login_post(client, account.email, NEW_PASSWORD).url == reverse("accounts:otp")


def test_revoking_from_my_page(account, smtp_server, settings):
    settings.MAILS_PER_ADDRESS_PER_DAY = 50
    laptop, phone = Client(), Client()
    remember_browser(laptop, account, smtp_server)
    remember_browser(phone, account, smtp_server)
    page = laptop.get(reverse("accounts:trusted_browsers")).content.decode()
    assert page.count("解除する<span") == 2 and "（このブラウザ）" in page
    phone_row = TrustedBrowser.objects.filter(user=account.user).order_by("created_at").last()
    response = laptop.post(reverse("accounts:trusted_browser_revoke", args=[phone_row.pk]))
    assert response.url == reverse("accounts:trusted_browsers")
    assert COOKIE not in response.cookies  # the laptop keeps its own
    assert TrustedBrowser.objects.filter(user=account.user).count() == 1
    phone.post(reverse("accounts:logout"))
    assert login_post(phone, account.email).url == reverse("accounts:otp")
    # Revoking this browser deletes its cookie too.
    laptop_row = TrustedBrowser.objects.get(user=account.user)
    response = laptop.post(reverse("accounts:trusted_browser_revoke", args=[laptop_row.pk]))
    assert response.cookies[COOKIE].value == ""
    laptop.post(reverse("accounts:logout"))
    assert login_post(laptop, account.email).url == reverse("accounts:otp")


def test_revoke_all_from_my_page(account, smtp_server):
    client = Client()
    remember_browser(client, account, smtp_server)
    client.post(reverse("accounts:trusted_browser_revoke_all"))
    assert not TrustedBrowser.objects.exists()
    assert (
        "省略しているブラウザはありません"
        in client.get(reverse("accounts:trusted_browsers")).content.decode()
    )


def test_another_accounts_browser_cannot_be_revoked(make_account, smtp_server):
    first = make_account("first@example.jp")
    second = make_account("second@example.jp")
    remember_browser(Client(), first, smtp_server)
    client = Client()
    remember_browser(client, second, smtp_server)
    row = TrustedBrowser.objects.get(user=first.user)
    response = client.post(reverse("accounts:trusted_browser_revoke", args=[row.pk]))
    assert response.status_code == 404
    assert TrustedBrowser.objects.filter(pk=row.pk).exists()


def test_the_step_can_be_switched_off(account, smtp_server, settings):
    settings.LOGIN_OTP_ENABLED = False
    client = Client()
    assert login_post(client, account.email).url == reverse("accounts:mypage")
    deliver_mail()
    assert smtp_server.to(account.email) == []
    assert not LoginChallenge.objects.exists()


def test_the_step_is_on_by_default():
    assert django_settings.LOGIN_OTP_ENABLED is True


def test_otp_page_without_a_pending_login_goes_back_to_login(client):
    assert client.get(reverse("accounts:otp")).url == reverse("accounts:login")
    assert client.post(reverse("accounts:otp_resend")).url == reverse("accounts:login")


def test_a_malformed_code_is_not_counted(account, smtp_server):
    client = Client()
    start(client, account)
    page = otp_post(client, "12ab").content.decode()
    assert "6桁の半角数字" in page
    assert not LoginEvent.objects.filter(outcome="otp_failure").exists()


def test_login_codes_are_outside_the_per_address_day_cap(account, smtp_server, settings):
    """Only someone with the password causes these mails; the hourly cap per account governs
    them, so a job seeker who logs in often is never kept out for the day."""
    settings.MAILS_PER_ADDRESS_PER_DAY = 1
    settings.LOGIN_OTP_MAILS_PER_HOUR = 10
    assert login_post(Client(), account.email).url == reverse("accounts:otp")
    assert login_post(Client(), account.email).url == reverse("accounts:otp")
    assert not OutboundMail.objects.filter(status=OutboundMail.Status.CAPPED).exists()


def test_a_mail_refused_by_the_outbox_cap_starts_no_step(account, smtp_server, settings):
    settings.MAIL_CAP_EXEMPT_KINDS = []  # an operator who wants login codes capped per address
    settings.MAILS_PER_ADDRESS_PER_DAY = 1
    settings.LOGIN_OTP_MAILS_PER_HOUR = 10
    assert login_post(Client(), account.email).url == reverse("accounts:otp")
    page = login_post(Client(), account.email).content.decode()
    assert "送信回数が上限に達した" in page
    assert LoginChallenge.objects.count() == 1


def test_the_code_screen_reads_its_challenge_once_and_shows_the_address(account, smtp_server):
    client = Client()
    start(client, account)
    client.get(reverse("accounts:otp"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("accounts:otp"))
    assert page.status_code == 200 and account.email in page.content.decode()
    sql = [q["sql"] for q in queries]
    # The challenge with its account's address in one statement; no column loaded later.
    assert sum('FROM "accounts_loginchallenge"' in s for s in sql) == 1
    assert not any('FROM "accounts_user"' in s for s in sql)
