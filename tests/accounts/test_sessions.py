"""Sessions: a new key on login (also after the one-time password), logout ends the server-side
session so a replayed cookie is refused, 30 minutes idle once logged in, no-store pages."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.accounts.models import UserSession
from portal.accounts.selectors import session_store
from tests.accounts.conftest import PASSWORD, login_post, otp_from, otp_post
from tests.browser_client import BrowserClient as Client
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_new_session_key_after_the_one_time_password(account, smtp_server):
    client = Client()
    login_post(client, account.email)
    before = session_key(client)  # the anonymous session holding the pending step
    otp_post(client, otp_from(smtp_server, account.email))
    after = session_key(client)
    assert after != before
    assert not session_store()().exists(before)
    assert UserSession.objects.get(user=account.user).session_key == after


def test_logout_ends_the_server_session_and_the_old_cookie_is_refused(logged_in, account):
    old = session_key(logged_in)
    assert logged_in.get(reverse("accounts:mypage")).status_code == 200
    response = logged_in.post(reverse("accounts:logout"))
    assert response.url == reverse("accounts:login")
    assert "ログアウトしました" in logged_in.get(response.url).content.decode()
    assert not session_store()().exists(old)
    assert not UserSession.objects.filter(session_key=old).exists()
    # Someone who kept the old cookie gets nothing.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old
    response = replay.get(reverse("accounts:mypage"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    response = replay.get(reverse("accounts:profile"))
    assert response.status_code == 302


def test_logout_is_a_post(logged_in):
    assert logged_in.get(reverse("accounts:logout")).status_code == 405
    assert logged_in.get(reverse("accounts:mypage")).status_code == 200


def test_logout_needs_the_csrf_token(account, no_otp):
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("accounts:login")).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    client.post(
        reverse("accounts:login"),
        {"login_id": account.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert client.post(reverse("accounts:logout")).status_code == 403
    assert client.get(reverse("accounts:mypage")).status_code == 200


def test_idle_timeout_after_thirty_minutes(logged_in, clock, settings):
    assert settings.SESSION_IDLE_MINUTES == 30
    old = session_key(logged_in)
    clock.advance(minutes=29)
    assert logged_in.get(reverse("accounts:mypage")).status_code == 200
    clock.advance(minutes=29)  # activity resets the idle time
    assert logged_in.get(reverse("accounts:profile")).status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = logged_in.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={reverse('accounts:profile')}"
    assert "操作がなかったため" in logged_in.get(response.url).content.decode()
    assert not session_store()().exists(old)
    assert logged_in.get(reverse("accounts:mypage")).status_code == 302


def test_idle_timeout_leaves_anonymous_sessions_alone(account, smtp_server, clock):
    # A pending login step (anonymous session) is governed by its own deadline, not idle time.
    client = Client()
    login_post(client, account.email)
    key = session_key(client)
    clock.advance(minutes=31)
    client.get(reverse("registration:top"))
    assert session_key(client) == key and session_store()().exists(key)


def test_idle_timeout_applies_to_staff_admin(client, clock, smtp_server):
    get_user_model().objects.create_superuser("staff@example.jp", PASSWORD)
    staff_login(client, smtp_server, "staff@example.jp", PASSWORD)
    assert client.get(reverse("admin:index")).status_code == 200
    clock.advance(minutes=31)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_account_pages_are_not_stored(logged_in, account):
    for name in ("mypage", "profile", "password_change", "login_history", "trusted_browsers"):
        response = logged_in.get(reverse(f"accounts:{name}"))
        assert "no-store" in response["Cache-Control"], name
    for name in ("login", "otp"):
        assert "no-store" in Client().get(reverse(f"accounts:{name}"))["Cache-Control"]
