"""Staff passkeys: added on the staff side, used at /staff/login/ instead of the password and
the mailed one-time password; job seekers' and staff passkeys never cross."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from portal.accounts.models import LoginEvent
from portal.passkeys.models import Passkey
from tests.accounts.conftest import PASSWORD
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.conftest import add_passkey, passkey_login
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db

REFUSED = "パスキーを確認できませんでした。"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("clerk@example.jp", PASSWORD, is_staff=True)


@pytest.fixture
def staff_client(staff):
    client = Client()
    staff_force_login(client, staff)
    return client


def staff_add(client, authenticator, name=""):
    options = client.post(reverse("staff_passkeys:add_options")).json()["publicKey"]
    return client.post(
        reverse("staff_passkeys:add"),
        {"name": name, "credential": authenticator.register(options)},
    )


def staff_passkey_login(client, authenticator, **answer):
    options = client.post(reverse("staff_passkeys:login_options")).json()["publicKey"]
    return client.post(
        reverse("staff_passkeys:login"), {"credential": authenticator.assertion(options, **answer)}
    )


@pytest.fixture
def staff_passkey(staff_client):
    response = staff_client.post(reverse("staff_passkeys:reauth_password"), {"password": PASSWORD})
    assert response.status_code == 302
    authenticator = SoftAuthenticator()
    assert staff_add(staff_client, authenticator, "窓口の端末").status_code == 302
    return authenticator


def test_staff_pages_need_a_staff_login(client, logged_in):
    for c in (client, logged_in):
        response = c.get(reverse("staff_passkeys:list"))
        assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_adding_needs_the_password_again(staff_client):
    page = staff_client.get(reverse("staff_passkeys:list")).content.decode()
    assert 'name="password"' in page
    assert staff_client.post(reverse("staff_passkeys:add_options")).status_code == 403
    wrong = staff_client.post(reverse("staff_passkeys:reauth_password"), {"password": "x"})
    assert "パスワードが正しくありません" in wrong.content.decode()


def test_a_staff_member_adds_and_logs_in_with_a_passkey(staff, staff_passkey):
    passkey = Passkey.objects.get(user=staff)
    assert passkey.name == "窓口の端末"
    page = Client().get(reverse("admin:login")).content.decode()
    assert "パスキーでログイン" in page and reverse("staff_passkeys:login") in page
    client = Client()
    response = staff_passkey_login(client, staff_passkey)
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    event = LoginEvent.objects.filter(user=staff).first()
    assert event.outcome == LoginEvent.Outcome.PASSKEY
    assert event.channel == LoginEvent.Channel.STAFF
    # A passkey login is recent: another can be added at once.
    assert client.post(reverse("staff_passkeys:add_options")).status_code == 200


def test_rename_and_remove(staff_client, staff, staff_passkey):
    passkey = Passkey.objects.get(user=staff)
    staff_client.post(reverse("staff_passkeys:rename", args=[passkey.pk]), {"name": "新しい名前"})
    assert Passkey.objects.get().name == "新しい名前"
    staff_client.post(reverse("staff_passkeys:remove", args=[passkey.pk]))
    assert not Passkey.objects.exists()
    client = Client()
    response = staff_passkey_login(client, staff_passkey)
    assert REFUSED in client.get(response.url).content.decode()


def test_a_job_seekers_passkey_does_not_open_the_staff_admin(logged_in, account):
    authenticator = SoftAuthenticator()
    add_passkey(logged_in, authenticator)
    client = Client()
    response = staff_passkey_login(client, authenticator)
    assert response.url.startswith(reverse("admin:login"))
    assert REFUSED in client.get(response.url).content.decode()
    assert "_auth_user_id" not in client.session


def test_a_staff_passkey_does_not_open_my_page(staff_passkey):
    client = Client()
    response = passkey_login(client, staff_passkey)
    assert REFUSED in client.get(response.url).content.decode()
    assert "_auth_user_id" not in client.session


def test_an_inactive_staff_member_is_refused(staff, staff_passkey):
    get_user_model().objects.filter(pk=staff.pk).update(is_active=False)
    client = Client()
    staff_passkey_login(client, staff_passkey)
    assert "_auth_user_id" not in client.session


def test_staff_answers_for_another_origin_are_refused(staff_passkey):
    client = Client()
    staff_passkey_login(client, staff_passkey, origin="https://evil.example")
    assert "_auth_user_id" not in client.session
