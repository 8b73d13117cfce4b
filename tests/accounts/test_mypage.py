"""求職者マイページ: the home with name and number, and every menu item."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.accounts.models import LoginEvent, UserSession
from portal.accounts.selectors import session_store
from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker
from tests.accounts.conftest import NEW_PASSWORD, PASSWORD, deliver_mail, login_post
from tests.browser_client import BrowserClient as Client

pytestmark = pytest.mark.django_db

MENU = {
    "登録情報の確認": "accounts:profile",
    "パスワード変更": "accounts:password_change",
    "パスキーの管理": "passkeys:list",
    "ログイン履歴": "accounts:login_history",
    "ワンタイムパスワード省略の解除": "accounts:trusted_browsers",
}


def test_home_shows_name_number_and_a_working_menu(logged_in):
    page = logged_in.get(reverse("accounts:mypage")).content.decode()
    assert "<h1>求職者マイページ</h1>" in page
    assert "山田太郎" in page and "13010-00001234" in page
    for label, name in MENU.items():
        url = reverse(name)
        assert f'<a href="{url}">{label}</a>' in page
        assert logged_in.get(url).status_code == 200, label
    # ログアウト is a POST form with a CSRF token, not a link.
    assert re.search(
        rf'<form method="post" action="{reverse("accounts:logout")}">'
        r'<input type="hidden" name="csrfmiddlewaretoken"',
        page,
    )
    assert "ログアウト</button>" in page
    links = re.findall(r'<ul class="menu">(.*?)</ul>', page, re.S)[0]
    assert links.count("<li>") == 6  # nothing the service does not do


def test_every_my_page_url_needs_a_login(client):
    for name in ("accounts:mypage", *MENU.values()):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login") + "?next=")


def test_a_suspended_job_seeker_is_logged_out(logged_in, account):
    JobSeeker.objects.filter(pk=account.pk).update(status=JobSeeker.Status.LOCKED)
    response = logged_in.get(reverse("accounts:mypage"))
    assert response.url == reverse("accounts:login")
    assert "_auth_user_id" not in logged_in.session


def test_profile_is_read_only_and_says_how_to_change(logged_in, account, settings):
    JobSeeker.objects.filter(pk=account.pk).update(office="ハローワーク飯田橋")
    page = logged_in.get(reverse("accounts:profile")).content.decode()
    for value in ("13010-00001234", "山田太郎", "ヤマダタロウ", "1990年4月1日", account.email):
        assert value in page
    assert "ハローワーク飯田橋" in page
    assert "マイページからは変更できません" in page
    assert settings.OFFICE_CONTACT in page  # where to change it: the office's contact text
    assert "<form" not in page.split("<main")[1].split("</main>")[0]


def test_login_history_shows_the_last_twenty_with_ip_and_browser(account, no_otp, clock):
    chrome = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
    )
    for n in range(22):
        clock.advance(minutes=1)
        login_post(Client(), account.email, "Wrong#pass1", REMOTE_ADDR=f"192.0.2.{n}")
        if n % 4 == 3:
            login_post(Client(), account.email, REMOTE_ADDR=f"192.0.2.{n}")
    clock.advance(minutes=1)
    client = Client(HTTP_USER_AGENT=chrome, REMOTE_ADDR="198.51.100.7")
    login_post(client, account.email)
    page = client.get(reverse("accounts:login_history")).content.decode()
    rows = re.findall(r"<tr>\s*<td[ >]", page)
    assert len(rows) == 20
    assert LoginEvent.objects.filter(user=account.user).count() > 20
    first = page.split("<tbody>")[1].split("</tr>")[0]
    assert "198.51.100.7" in first and "Chrome（Windows）" in first and "ログイン" in first
    assert "ログイン失敗（IDまたはパスワードの誤り）" in page
    assert "192.0.2.21" in page and "192.0.2.0<" not in page  # the oldest fell off


def test_password_change_ends_other_sessions_and_mails_a_notice(
    account, no_otp, smtp_server, settings
):
    here, elsewhere = Client(), Client()
    login_post(here, account.email)
    login_post(elsewhere, account.email)
    other_key = elsewhere.cookies[settings.SESSION_COOKIE_NAME].value
    old_key = here.cookies[settings.SESSION_COOKIE_NAME].value
    assert UserSession.objects.filter(user=account.user).count() == 2
    page = here.get(reverse("accounts:password_change")).content.decode()
    assert "現在のパスワード" in page and "新しいパスワード（確認用）" in page
    assert page.count('autocomplete="new-password"') == 2
    assert page.count("data-toggle-password") == 3
    response = here.post(
        reverse("accounts:password_change"),
        {
            "current_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.url == reverse("accounts:mypage")
    assert "パスワードを変更しました" in here.get(response.url).content.decode()
    # This browser stays logged in (with a new key); the other one is out, server-side too.
    assert here.cookies[settings.SESSION_COOKIE_NAME].value != old_key
    assert here.get(reverse("accounts:profile")).status_code == 200
    assert elsewhere.get(reverse("accounts:mypage")).status_code == 302
    assert not session_store()().exists(other_key)
    assert UserSession.objects.filter(user=account.user).count() == 1
    # The new password works, the old one does not.
    assert login_post(Client(), account.email, NEW_PASSWORD).status_code == 302
    assert login_post(Client(), account.email, PASSWORD).status_code == 200
    deliver_mail()
    notice = smtp_server.to(account.email)[-1]
    assert notice["Subject"].strip() == "【求職者マイページ】パスワード変更のお知らせ"
    assert NEW_PASSWORD not in notice.get_content()
    event = AuditEvent.objects.get(action="account.password_changed")
    assert PASSWORD not in str(event.detail) and NEW_PASSWORD not in str(event.detail)


def change(client, current, new1, new2=None):
    return client.post(
        reverse("accounts:password_change"),
        {"current_password": current, "new_password1": new1, "new_password2": new2 or new1},
    )


def test_password_change_errors(logged_in, account):
    page = change(logged_in, "Wrong#pass1", NEW_PASSWORD).content.decode()
    assert "<title>エラー：" in page and "現在のパスワードが正しくありません" in page
    assert LoginEvent.objects.filter(outcome="current_password_failure").count() == 1
    page = change(logged_in, PASSWORD, NEW_PASSWORD, "Other#pass99").content.decode()
    assert "確認用のパスワードが新しいパスワードと一致しません" in page
    page = change(logged_in, PASSWORD, "short1!").content.decode()
    assert "8文字以上32文字以内" in page
    page = change(logged_in, PASSWORD, "taro#2026pass").content.decode()
    assert "「@」より前の部分" in page  # the same rules as at registration
    page = change(logged_in, PASSWORD, PASSWORD).content.decode()
    assert "現在のパスワードと異なるもの" in page
    account.user.refresh_from_db()
    assert account.user.check_password(PASSWORD)


def test_wrong_current_passwords_count_toward_the_lockout(logged_in, account):
    for _ in range(4):
        change(logged_in, "Wrong#pass1", NEW_PASSWORD)
    response = change(logged_in, "Wrong#pass1", NEW_PASSWORD)
    assert response.url == reverse("accounts:login")
    assert "一時的に停止しています" in logged_in.get(response.url).content.decode()
    assert logged_in.get(reverse("accounts:mypage")).status_code == 302


def test_home_reads_the_account_and_its_job_seeker_in_one_query(logged_in):
    logged_in.get(reverse("accounts:mypage"))  # the idle-timeout touch, if due, happens here
    with CaptureQueriesContext(connection) as queries:
        assert logged_in.get(reverse("accounts:mypage")).status_code == 200
    account_reads = [q["sql"] for q in queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(account_reads) == 1 and "jobseekers_jobseeker" in account_reads[0]
    assert not [q for q in queries if q["sql"].startswith('SELECT "jobseekers_jobseeker"')]
