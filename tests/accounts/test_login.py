"""ログイン: success, one generic failure message, a new session key, the page's conventions."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.accounts.models import LoginEvent
from portal.jobseekers.models import JobSeeker
from tests.accounts.conftest import PASSWORD, login_post
from tests.browser_client import BrowserClient as Client

pytestmark = pytest.mark.django_db

GENERIC = "IDまたはパスワードが正しくありません。"


def test_login_page_has_fields_reset_link_and_no_store(client):
    response = client.get(reverse("accounts:login"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "ID（メールアドレス）" in page and "パスワード" in page
    assert 'autocomplete="username webauthn"' in page and 'autocomplete="current-password"' in page
    assert "novalidate" in page
    assert f'href="{reverse("registration:reset_start")}">パスワードを忘れた方<' in page
    assert "no-store" in response["Cache-Control"]
    assert "<script>" not in page and "style=" not in page


def test_login_success_goes_to_my_page_with_a_new_session_key(account, no_otp):
    client = Client()
    client.get(reverse("accounts:login"))
    client.session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = login_post(client, "Taro@Example.jp")  # the ID is matched case-insensitively
    assert response.status_code == 302 and response.url == reverse("accounts:mypage")
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    assert client.session["_auth_user_id"] == str(account.user.pk)
    page = client.get(reverse("accounts:mypage")).content.decode()
    assert "山田太郎" in page and "13010-00001234" in page
    event = LoginEvent.objects.get(user=account.user)
    assert event.outcome == LoginEvent.Outcome.SUCCESS and event.ip == "127.0.0.1"


def test_login_keeps_a_local_next_and_drops_a_foreign_one(account, no_otp):
    client = Client()
    target = reverse("accounts:login_history")
    response = client.post(
        reverse("accounts:login"),
        {"login_id": account.email, "password": PASSWORD, "next": target},
    )
    assert response.url == target
    client = Client()
    response = client.post(
        reverse("accounts:login"),
        {"login_id": account.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.url == reverse("accounts:mypage")


def _failure_page(client, login_id, password):
    response = login_post(client, login_id, password)
    assert response.status_code == 200
    page = response.content.decode()
    assert GENERIC in page
    assert re.search(r"<title>エラー：", page)
    assert 'class="error-summary"' in page
    # The page never says which part was wrong.
    assert "登録されていません" not in page and "パスワードが違います" not in page
    html = page.replace(login_id, "ID")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)


def test_one_generic_message_for_every_kind_of_failure(make_account, make_jobseeker, no_otp):
    active = make_account("active@example.jp")
    make_jobseeker(email="pending@example.jp")
    suspended = make_account("suspended@example.jp")
    JobSeeker.objects.filter(pk=suspended.pk).update(status=JobSeeker.Status.LOCKED)
    get_user_model().objects.create_user("staff@example.jp", PASSWORD, is_staff=True)
    client = Client()
    pages = {
        "wrong password": _failure_page(client, active.email, "Wrong#pass1"),
        "unknown": _failure_page(client, "nobody@example.jp", "Wrong#pass1"),
        "pending": _failure_page(client, "pending@example.jp", "Wrong#pass1"),
        "suspended, right password": _failure_page(client, "suspended@example.jp", PASSWORD),
        "staff on the job seeker login": _failure_page(client, "staff@example.jp", PASSWORD),
    }
    assert len(set(pages.values())) == 1, pages.keys()
    assert "_auth_user_id" not in client.session


def test_empty_fields_say_what_to_enter(client):
    page = client.post(reverse("accounts:login"), {}).content.decode()
    assert "IDを入力してください。" in page and "パスワードを入力してください。" in page
    assert 'aria-invalid="true"' in page and 'href="#id_login_id"' in page


def test_failures_are_in_the_login_history_with_the_browser(client, account, no_otp):
    login_post(client, account.email, "Wrong#pass1", HTTP_USER_AGENT="Mozilla/5.0 Firefox/130.0")
    event = LoginEvent.objects.get(user=account.user)
    assert event.outcome == LoginEvent.Outcome.PASSWORD_FAILURE
    assert "Firefox" in event.user_agent
    # The ID is filed under an HMAC, never in clear (a password typed as ID is not stored).
    assert account.email not in event.login_key


def test_a_logged_in_job_seeker_is_sent_from_login_to_my_page(logged_in):
    response = logged_in.get(reverse("accounts:login"))
    assert response.url == reverse("accounts:mypage")
