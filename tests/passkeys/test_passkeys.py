"""Passkeys on My Page and at the login, through the views, with responses made by a software
authenticator (tests/passkeys/authenticator.py) and verified by py_webauthn."""

import pytest
from django.test import Client
from django.urls import reverse
from webauthn.helpers import base64url_to_bytes

from portal.accounts.models import LoginEvent
from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker
from portal.passkeys.models import Passkey
from tests.accounts.conftest import PASSWORD, deliver_mail, login_post
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.conftest import (
    add_options,
    add_passkey,
    login_options,
    passkey_login,
)

pytestmark = pytest.mark.django_db

REFUSED = "パスキーを確認できませんでした。"


def _messages(client, response) -> str:
    """The page the redirect leads to, where the message is shown."""
    assert response.status_code == 302, response.content.decode()
    return client.get(response.url).content.decode()


@pytest.fixture
def authenticator():
    return SoftAuthenticator()


@pytest.fixture
def with_passkey(logged_in, authenticator):
    response = add_passkey(logged_in, authenticator, name="自宅のパソコン")
    assert response.status_code == 302, response.content.decode()
    return Passkey.objects.get()


# --- Adding -------------------------------------------------------------------------------------


def test_options_ask_for_a_discoverable_user_verifying_passkey(logged_in, account):
    options = add_options(logged_in)
    assert options["rp"] == {"id": "localhost", "name": options["rp"]["name"]}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == account.email
    assert account.email not in options["user"]["id"]


def test_adding_a_passkey_lists_it_mails_and_audits(logged_in, account, smtp_server, authenticator):
    response = add_passkey(logged_in, authenticator, name="自宅のパソコン")
    page = _messages(logged_in, response)
    assert "パスキー「自宅のパソコン」を追加しました。" in page
    passkey = Passkey.objects.get()
    assert passkey.user_id == account.user_id
    assert passkey.credential_id == authenticator.id
    assert '<td data-label="名前"><span>自宅のパソコン' in page
    assert AuditEvent.objects.filter(
        action="passkey.added", target_id=str(account.user_id)
    ).exists()
    deliver_mail()
    (mail,) = [m for m in smtp_server.to(account.email) if "パスキー登録" in m["Subject"]]
    assert "自宅のパソコン" in mail.get_content()


def test_a_blank_name_gets_a_default_from_the_browser(logged_in, authenticator):
    logged_in.defaults["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0 Safari/537.36"
    )
    add_passkey(logged_in, authenticator, name="  ")
    assert Passkey.objects.get().name.startswith("Chrome")
    assert Passkey.objects.get().name.endswith("のパスキー")


def test_adding_needs_a_recent_login_or_the_password_again(
    logged_in, account, clock, authenticator
):
    clock.advance(minutes=6)
    assert logged_in.post(reverse("passkeys:add_options")).status_code == 403
    page = logged_in.get(reverse("passkeys:list")).content.decode()
    assert "本人確認が必要です" in page and 'name="password"' in page
    assert "data-passkey-register" not in page

    wrong = logged_in.post(reverse("passkeys:reauth_password"), {"password": "Wrong#2026x"})
    assert "パスワードが正しくありません" in wrong.content.decode()
    assert LoginEvent.objects.filter(outcome=LoginEvent.Outcome.PASSWORD_FAILURE).count() == 1

    right = logged_in.post(reverse("passkeys:reauth_password"), {"password": PASSWORD})
    assert "本人確認ができました" in _messages(logged_in, right)
    assert add_passkey(logged_in, authenticator).status_code == 302
    assert Passkey.objects.count() == 1

    clock.advance(minutes=6)  # the re-authentication is recent for the same few minutes
    assert logged_in.post(reverse("passkeys:add_options")).status_code == 403


def test_an_authenticator_without_user_verification_is_refused(logged_in, authenticator):
    response = add_passkey(logged_in, authenticator, uv=False)
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not Passkey.objects.exists()


def test_a_credential_that_is_not_discoverable_is_refused(logged_in, authenticator):
    response = add_passkey(logged_in, authenticator, rk=False)
    assert (
        "パスキー（ログインIDを入力せずに使える認証情報）を作れません" in response.content.decode()
    )
    assert not Passkey.objects.exists()


@pytest.mark.parametrize("answer", [{"origin": "https://evil.example"}, {"rp_id": "evil.example"}])
def test_registration_for_another_origin_or_rp_id_is_refused(logged_in, authenticator, answer):
    response = add_passkey(logged_in, authenticator, **answer)
    assert REFUSED in response.content.decode()
    assert not Passkey.objects.exists()


def test_a_registration_answer_is_accepted_once(logged_in, authenticator):
    credential = authenticator.register(add_options(logged_in))
    first = logged_in.post(reverse("passkeys:add"), {"name": "", "credential": credential})
    assert first.status_code == 302
    second = logged_in.post(reverse("passkeys:add"), {"name": "", "credential": credential})
    assert "パスキーの確認に時間がかかりすぎました" in second.content.decode()
    assert Passkey.objects.count() == 1


def test_rename_and_remove(logged_in, account, smtp_server, with_passkey):
    url = reverse("passkeys:rename", args=[with_passkey.pk])
    assert 'value="自宅のパソコン"' in logged_in.get(url).content.decode()
    response = logged_in.post(url, {"name": "仕事用スマートフォン"})
    assert "パスキーの名前を変更しました。" in _messages(logged_in, response)
    assert Passkey.objects.get().name == "仕事用スマートフォン"
    assert AuditEvent.objects.filter(action="passkey.renamed").exists()

    too_long = logged_in.post(url, {"name": "あ" * 65})
    assert "64文字以内" in too_long.content.decode()

    remove = reverse("passkeys:remove", args=[with_passkey.pk])
    assert "仕事用スマートフォン" in logged_in.get(remove).content.decode()
    response = logged_in.post(remove)
    assert "を削除しました" in _messages(logged_in, response)
    assert not Passkey.objects.exists()
    assert AuditEvent.objects.filter(action="passkey.removed").exists()
    deliver_mail()
    assert [m for m in smtp_server.to(account.email) if "パスキー削除" in m["Subject"]]


def test_another_accounts_passkey_cannot_be_renamed_or_removed(
    logged_in, make_account, with_passkey
):
    other = make_account("hanako@example.jp")
    other_client = Client()
    other_client.force_login(other.user)
    for name in ("passkeys:rename", "passkeys:remove"):
        assert (
            other_client.post(reverse(name, args=[with_passkey.pk]), {"name": "x"}).status_code
            == 404
        )
    assert Passkey.objects.get().name == "自宅のパソコン"


# --- Logging in ---------------------------------------------------------------------------------


def test_login_page_offers_the_passkey_and_autofill(client):
    page = client.get(reverse("accounts:login")).content.decode()
    assert 'autocomplete="username webauthn"' in page
    assert "パスキーでログイン</button>" in page
    assert "passkeys/passkeys.js" in page


def test_login_options_name_no_credentials(client):
    options = login_options(client)
    assert "allowCredentials" not in options or options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert options["rpId"] == "localhost"


def test_a_passkey_login_is_a_full_login(settings, account, with_passkey, authenticator):
    settings.LOGIN_OTP_ENABLED = True  # a passkey needs no one-time password
    client = Client()
    client.get(reverse("accounts:login"))
    before = client.session.session_key
    response = passkey_login(client, authenticator)
    assert response.url == reverse("accounts:mypage")
    assert client.session.session_key != before
    assert client.get(reverse("accounts:mypage")).status_code == 200
    event = LoginEvent.objects.filter(user=account.user).first()
    assert event.outcome == LoginEvent.Outcome.PASSKEY
    history = client.get(reverse("accounts:login_history")).content.decode()
    assert "ログイン（パスキー）" in history
    assert AuditEvent.objects.filter(action="passkey.used").exists()
    assert Passkey.objects.get().last_used_at is not None
    # A passkey login counts as recent: a passkey can be added at once.
    assert client.post(reverse("passkeys:add_options")).status_code == 200


def test_unknown_credential_gets_the_same_answer_as_a_bad_signature(account, with_passkey):
    stranger = SoftAuthenticator()
    client = Client()
    unknown = _messages(client, passkey_login(client, stranger))
    # A known credential ID signed with another key: a bad signature.
    forger = SoftAuthenticator()
    forger.credential_id = base64url_to_bytes(with_passkey.credential_id)
    bad = _messages(client, passkey_login(client, forger))
    for page in (unknown, bad):
        assert REFUSED in page
    strip = lambda page: page.split('name="csrfmiddlewaretoken" value="')[0]  # noqa: E731
    assert strip(unknown) == strip(bad)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "answer",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://localhost:9999"},
        {"rp_id": "evil.example"},
        {"uv": False},
    ],
    ids=["wrong-origin", "wrong-port", "wrong-rp-id", "no-user-verification"],
)
def test_login_answers_for_another_site_or_without_verification_are_refused(
    account, with_passkey, authenticator, answer
):
    client = Client()
    assert REFUSED in _messages(client, passkey_login(client, authenticator, **answer))
    assert "_auth_user_id" not in client.session
    assert not LoginEvent.objects.filter(outcome=LoginEvent.Outcome.PASSKEY).exists()


def test_a_replayed_login_answer_is_refused(account, with_passkey, authenticator):
    client = Client()
    credential = authenticator.assertion(login_options(client))
    first = client.post(reverse("passkeys:login"), {"credential": credential})
    assert first.url == reverse("accounts:mypage")
    client.post(reverse("accounts:logout"))
    # The same answer again: its challenge was used up.
    replay = client.post(reverse("passkeys:login"), {"credential": credential})
    assert "パスキーの確認に時間がかかりすぎました" in _messages(client, replay)
    # ... and under a fresh challenge its signature no longer matches.
    login_options(client)
    again = client.post(reverse("passkeys:login"), {"credential": credential})
    assert REFUSED in _messages(client, again)
    assert "_auth_user_id" not in client.session


def test_an_expired_challenge_is_refused(account, with_passkey, authenticator, clock, settings):
    client = Client()
    options = login_options(client)
    clock.advance(seconds=settings.WEBAUTHN_CHALLENGE_SECONDS + 1)
    response = client.post(
        reverse("passkeys:login"), {"credential": authenticator.assertion(options)}
    )
    assert "パスキーの確認に時間がかかりすぎました" in _messages(client, response)
    assert "_auth_user_id" not in client.session


def test_zero_sign_counts_are_normal(account, with_passkey, authenticator):
    for _ in range(2):
        client = Client()
        assert passkey_login(client, authenticator, sign_count=0).url == reverse("accounts:mypage")
    assert Passkey.objects.get().disabled_at is None


def test_a_sign_count_going_backwards_disables_mails_and_audits(account, logged_in, smtp_server):
    counting = SoftAuthenticator(counter=True)
    add_passkey(logged_in, counting, name="USBキー")
    client = Client()
    assert passkey_login(client, counting, sign_count=5).url == reverse("accounts:mypage")
    assert Passkey.objects.get().sign_count == 5
    clone = Client()
    assert REFUSED in _messages(clone, passkey_login(clone, counting, sign_count=3))
    passkey = Passkey.objects.get()
    assert passkey.disabled_at is not None
    event = AuditEvent.objects.get(action="passkey.disabled")
    assert event.detail["stored"] == 5 and event.detail["received"] == 3
    deliver_mail()
    assert [m for m in smtp_server.to(account.email) if "無効" in m["Subject"]]
    # Disabled for good, even with a count that moves on.
    again = Client()
    assert REFUSED in _messages(again, passkey_login(again, counting, sign_count=9))
    assert "複製のおそれ" in logged_in.get(reverse("passkeys:list")).content.decode()


def test_a_forged_answer_cannot_disable_a_passkey(account, logged_in):
    counting = SoftAuthenticator(counter=True)
    add_passkey(logged_in, counting)
    assert passkey_login(Client(), counting, sign_count=5).status_code == 302
    forger = SoftAuthenticator()
    forger.credential_id = counting.credential_id
    forger.user_handle = counting.user_handle
    client = Client()
    passkey_login(client, forger, sign_count=1)
    assert Passkey.objects.get().disabled_at is None


def test_a_locked_account_is_refused_as_with_a_password(
    settings, account, with_passkey, authenticator
):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    other = Client()
    for _ in range(3):
        login_post(other, account.email, "Wrong#2026x", REMOTE_ADDR="10.1.1.1")
    client = Client()
    page = _messages(client, passkey_login(client, authenticator))
    assert "このIDでのログインを一時的に停止しています" in page
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("status", [JobSeeker.Status.LOCKED, JobSeeker.Status.PENDING])
def test_an_account_that_may_not_use_my_page_is_refused(
    account, with_passkey, authenticator, status
):
    JobSeeker.objects.filter(pk=account.pk).update(status=status)
    client = Client()
    assert REFUSED in _messages(client, passkey_login(client, authenticator))
    assert "_auth_user_id" not in client.session


def test_a_removed_passkey_no_longer_logs_in(account, logged_in, with_passkey, authenticator):
    logged_in.post(reverse("passkeys:remove", args=[with_passkey.pk]))
    client = Client()
    assert REFUSED in _messages(client, passkey_login(client, authenticator))


def test_a_garbled_answer_is_refused_without_an_error(account, with_passkey):
    client = Client()
    login_options(client)
    for credential in ("", "not json", "[]", '{"id": 1}', "{" * 20000):
        response = client.post(reverse("passkeys:login"), {"credential": credential})
        assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- Re-authentication with a passkey ----------------------------------------------------------


def _reauth(client, authenticator):
    options = client.post(reverse("passkeys:reauth_options")).json()["publicKey"]
    credential = authenticator.assertion(options)
    return client.post(reverse("passkeys:reauth_passkey"), {"credential": credential})


def test_reauth_with_own_passkey_allows_adding(logged_in, with_passkey, authenticator, clock):
    clock.advance(minutes=6)
    assert "本人確認ができました" in _messages(logged_in, _reauth(logged_in, authenticator))
    assert logged_in.post(reverse("passkeys:add_options")).status_code == 200


def test_reauth_with_another_accounts_passkey_is_refused(
    logged_in, make_account, with_passkey, clock
):
    make_account("hanako@example.jp")
    other_client = Client()
    login_post(other_client, "hanako@example.jp")
    theirs = SoftAuthenticator()
    add_passkey(other_client, theirs)
    clock.advance(minutes=6)
    assert REFUSED in _messages(logged_in, _reauth(logged_in, theirs))
    assert logged_in.post(reverse("passkeys:add_options")).status_code == 403
