"""The login warns before the last try, shows a lock as one paragraph, answers failures with
POST → redirect → GET, and the password change reports every problem at once."""

import json
import re

import pytest
from django.test import Client as PlainClient
from django.urls import reverse

from portal.accounts.models import LoginEvent
from tests.accounts.conftest import NEW_PASSWORD, PASSWORD, login_post
from tests.browser_client import BrowserClient as Client

pytestmark = pytest.mark.django_db

WRONG = "Wrong#pass1"
LAST_TRY = "あと1回ログインに失敗すると、このIDでのログインを30分間停止します。"


def _fail(client, login_id, times, **extra):
    response = None
    for _ in range(times):
        response = login_post(client, login_id, WRONG, **extra)
    return response.content.decode()


def test_the_try_before_the_lock_is_warned(account, no_otp):
    client = Client()
    assert LAST_TRY not in _fail(client, account.email, 3)
    page = _fail(client, account.email, 1)
    assert LAST_TRY in page and "パスワードを忘れた方" in page


def test_the_warning_counts_by_the_account_wide_counter_when_it_is_nearer(
    account, no_otp, settings
):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 7  # (ID, IP) allows 5
    assert LAST_TRY not in _fail(Client(), account.email, 3, REMOTE_ADDR="10.0.0.1")
    other = Client()
    assert LAST_TRY not in _fail(other, account.email, 2, REMOTE_ADDR="10.0.0.2")
    # This IP's counter has 2 tries left, the account-wide one 1: the fewer is said.
    assert LAST_TRY in _fail(other, account.email, 1, REMOTE_ADDR="10.0.0.2")


def test_the_lock_is_one_paragraph_with_a_heading(account, no_otp):
    client = Client()
    page = _fail(client, account.email, 5)
    block = re.search(r'<div class="notice notice--error lock-notice"[^>]*>(.*?)</div>', page, re.S)
    assert block, "the lock block"
    inner = block.group(1)
    assert "<h2" in inner and "ログインを一時的に停止しています" in inner
    assert inner.count("<p>") == 1
    paragraph = re.search(r"<p>(.*?)</p>", inner, re.S).group(1)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}時\d{2}分以降", paragraph)
    assert "「パスワードを忘れた方」" in paragraph
    assert 'class="error-summary"' not in page  # not a list of input mistakes
    assert "<title>エラー：" in page


def test_a_failed_login_redirects_keeping_the_id_and_no_password(account, no_otp):
    client = PlainClient()
    target = reverse("accounts:login_history")
    response = client.post(
        reverse("accounts:login"), {"login_id": account.email, "password": WRONG, "next": target}
    )
    assert response.status_code == 302 and response.url == reverse("accounts:login")
    assert WRONG not in json.dumps(dict(client.session.items()))
    page = client.get(response.url).content.decode()
    assert f'value="{account.email}"' in page and WRONG not in page
    assert f'name="next" value="{target}"' in page  # where the login was going is kept
    response = login_post(client, account.email, PASSWORD, data_next=None)
    assert response.status_code == 302


def test_a_failed_one_time_password_redirects(account, smtp_server):
    client = PlainClient()
    login_post(client, account.email)
    response = client.post(reverse("accounts:otp"), {"code": "000000"})
    assert response.status_code == 302 and response.url == reverse("accounts:otp")
    assert "000000" not in json.dumps(dict(client.session.items()))
    assert "ワンタイムパスワードが正しくありません" in client.get(response.url).content.decode()


def test_password_change_lists_the_rules_before_the_first_try(logged_in):
    page = logged_in.get(reverse("accounts:password_change")).content.decode()
    assert page.index('id="password-rules"') < page.index('name="new_password1"')
    rules = ["8文字以上32文字以内", "それぞれ1文字以上含む"]
    rules += ["記号として使えるのは", "よく使われている"]
    for rule in rules:
        assert rule in page


def test_password_change_reports_a_wrong_current_password_with_a_bad_new_one(account, logged_in):
    response = logged_in.post(
        reverse("accounts:password_change"),
        {"current_password": WRONG, "new_password1": "short", "new_password2": "short"},
    )
    page = response.content.decode()
    assert "現在のパスワードが正しくありません" in page
    assert "パスワードは8文字以上32文字以内で入力してください" in page
    # The wrong current password counted toward the lockout, once.
    assert LoginEvent.objects.filter(outcome="current_password_failure").count() == 1
    # A right current password with a bad new one: only the new one is reported.
    page = logged_in.post(
        reverse("accounts:password_change"),
        {"current_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    ).content.decode()
    assert "現在のパスワードが正しくありません" not in page
    assert "8文字以上32文字以内で入力してください" in page
    response = logged_in.post(
        reverse("accounts:password_change"),
        {
            "current_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.url == reverse("accounts:mypage")
