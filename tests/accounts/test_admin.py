"""Staff admin (the project's own admin site, with the accounts mixins): unlock a locked
account, the account's status and recent mails (never a key), the counter's e-mail change."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from portal.accounts.selectors import login_lock_status
from portal.audit.models import AuditEvent
from portal.core.origin import RequestOrigin
from portal.mail.models import OutboundMail
from tests.accounts.conftest import PASSWORD, deliver_mail, login_post
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    staff = get_user_model().objects.create_superuser("staff@example.jp", PASSWORD)
    return staff_force_login(Client(), staff)


def lock(email, ip="127.0.0.1"):
    for _ in range(5):
        login_post(Client(), email, "Wrong#pass1", REMOTE_ADDR=ip)
    assert login_lock_status(email, RequestOrigin(ip=ip)).locked


def test_unlock_action_on_job_seekers(staff_client, account, no_otp):
    lock(account.email, "10.0.0.1")
    lock(account.email, "10.0.0.2")
    url = reverse("admin:jobseekers_jobseeker_changelist")
    page = staff_client.get(url).content.decode()
    assert "ログインのロックを解除する" in page
    response = staff_client.post(
        url, {"action": "unlock_jobseekers", "_selected_action": [account.pk]}, follow=True
    )
    assert "1件のログインのロックを解除しました" in response.content.decode()
    assert not login_lock_status(account.email, RequestOrigin(ip="10.0.0.1")).locked
    assert login_post(Client(), account.email, REMOTE_ADDR="10.0.0.2").status_code == 302
    event = AuditEvent.objects.get(action="account.lock_cleared")
    assert event.actor.email == "staff@example.jp" and event.detail["locks"] == 2


def test_unlock_action_on_users(staff_client, account, no_otp):
    lock(account.email)
    url = reverse("admin:accounts_jobseekeraccount_changelist")
    staff_client.post(url, {"action": "unlock_users", "_selected_action": [account.user.pk]})
    assert login_post(Client(), account.email).status_code == 302


def test_change_page_shows_status_and_mail_delivery_but_never_a_key(
    staff_client, account, smtp_server
):
    login_post(Client(), account.email)  # a one-time-password mail, delivered
    deliver_mail()
    code = smtp_server.to(account.email)[-1].get_content().split("ワンタイムパスワード：")[1][:6]
    lock(account.email)
    page = staff_client.get(
        reverse("admin:jobseekers_jobseeker_change", args=[account.pk])
    ).content.decode()
    assert "マイページのアカウント" in page
    assert "ロック中（" in page and "利用中" in page
    assert "ログイン用ワンタイムパスワードのお知らせ" in page and "送信済み" in page
    assert code not in page
    assert "窓口でメールアドレスを変更する" in page
    user_page = staff_client.get(
        reverse("admin:accounts_jobseekeraccount_change", args=[account.user.pk])
    ).content.decode()
    assert "ロック中（" in user_page


def test_change_page_of_a_pending_job_seeker(staff_client, make_jobseeker):
    seeker = make_jobseeker(email="pending@example.jp")
    page = staff_client.get(
        reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk])
    ).content.decode()
    assert "マイページ未開設" in page and "このアドレスへのメールはありません" in page


def test_email_change_through_the_admin(staff_client, account, no_otp, smtp_server):
    user_client = Client()
    login_post(user_client, account.email)
    url = reverse("admin:jobseekers_jobseeker_change_email", args=[account.pk])
    page = staff_client.get(url).content.decode()
    assert "新しいメールアドレス（確認用）" in page and account.email in page
    page = staff_client.post(
        url, {"new_email": "new@example.jp", "new_email_confirm": "neu@example.jp"}
    ).content.decode()
    assert "確認用のメールアドレスが一致しません" in page
    response = staff_client.post(
        url, {"new_email": "new@example.jp", "new_email_confirm": "new@example.jp"}
    )
    assert response.url == reverse("admin:jobseekers_jobseeker_change", args=[account.pk])
    account.refresh_from_db()
    assert account.email == "new@example.jp"
    assert user_client.get(reverse("accounts:mypage")).status_code == 302
    assert AuditEvent.objects.get(action="jobseeker.email_changed").actor.email == (
        "staff@example.jp"
    )
    assert OutboundMail.objects.filter(kind__startswith="email_changed_").count() == 2


def test_email_change_refusal_is_shown_on_the_form(staff_client, make_account, make_jobseeker):
    account = make_account("old@example.jp")
    make_jobseeker(email="taken@example.jp")
    url = reverse("admin:jobseekers_jobseeker_change_email", args=[account.pk])
    page = staff_client.post(
        url, {"new_email": "taken@example.jp", "new_email_confirm": "taken@example.jp"}
    ).content.decode()
    assert "使われています" in page


def test_email_change_needs_the_change_permission(account):
    viewer = get_user_model().objects.create_user("viewer@example.jp", PASSWORD, is_staff=True)
    client = Client()
    staff_force_login(client, viewer)
    url = reverse("admin:jobseekers_jobseeker_change_email", args=[account.pk])
    data = {"new_email": "x@example.jp", "new_email_confirm": "x@example.jp"}
    assert client.post(url, data).status_code == 403
    account.refresh_from_db()
    assert account.email == "taro@example.jp"


def test_admin_login_form_shows_the_lock(client):
    get_user_model().objects.create_superuser("boss@example.jp", PASSWORD)
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "boss@example.jp", "password": "x"})
    page = client.post(
        reverse("admin:login"), {"username": "boss@example.jp", "password": PASSWORD}
    ).content.decode()
    assert "一時的に停止しています" in page and "ほかの管理者" in page


def test_every_admin_page_links_the_staff_members_own_address_and_passkeys(staff_client):
    page = staff_client.get(reverse("admin:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{reverse("admin:staff_email_change")}"' in html
    assert f'href="{reverse("staff_passkeys:list")}"' in html
    assert staff_client.get(reverse("staff_passkeys:list")).status_code == 200
