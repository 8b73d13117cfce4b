"""Passkeys around recovery and the counter: a password reset keeps them and names them in its
notice; the counter's e-mail change removes them by default and says so; staff see how many a
job seeker has and remove them; a registration that takes over a left-behind account drops the
earlier holder's passkeys."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.counter.services import jobseeker_change_email
from portal.jobseekers.models import JobSeeker
from portal.passkeys.models import Passkey
from tests.accounts.conftest import PASSWORD
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.conftest import add_passkey, passkey_login
from tests.registration.journey import Journey, deliver_mail, key_from
from tests.registration.test_reset import ResetJourney
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    staff = get_user_model().objects.create_superuser("staff@example.jp", PASSWORD)
    client = Client()
    staff_force_login(client, staff)
    return client


@pytest.fixture
def two_passkeys(logged_in, account):
    for name in ("自宅のパソコン", "スマートフォン"):
        assert add_passkey(logged_in, SoftAuthenticator(), name=name).status_code == 302
    return account


def test_a_password_reset_keeps_passkeys_and_names_them(two_passkeys, smtp_server):
    reset = ResetJourney()
    reset.identity(two_passkeys.email)
    deliver_mail()
    response = reset.complete(key_from(smtp_server.to(two_passkeys.email)[-1]))
    assert response.url == reverse("registration:reset_done")
    assert Passkey.objects.filter(user=two_passkeys.user).count() == 2
    deliver_mail()
    notice = smtp_server.to(two_passkeys.email)[-1]
    assert notice["Subject"].strip() == "パスワード再設定完了のお知らせ"
    body = notice.get_content()
    assert "・自宅のパソコン" in body and "・スマートフォン" in body
    assert "「パスキーの管理」から" in body


def test_the_counters_email_change_removes_passkeys_by_default(two_passkeys):
    staff = get_user_model().objects.create_superuser("boss@example.jp", PASSWORD)
    jobseeker_change_email(two_passkeys, "new@example.jp", actor=staff)
    assert not Passkey.objects.filter(user=two_passkeys.user).exists()
    event = AuditEvent.objects.get(action="jobseeker.email_changed")
    assert event.detail["passkeys_removed"] == 2
    removed = AuditEvent.objects.filter(action="passkey.removed", detail__reason="email_changed")
    assert removed.count() == 2 and {e.actor_id for e in removed} == {staff.pk}


def test_the_clerk_can_keep_passkeys(two_passkeys):
    jobseeker_change_email(two_passkeys, "new@example.jp", remove_passkeys=False)
    assert Passkey.objects.filter(user=two_passkeys.user).count() == 2


def test_the_clerk_is_told_passkeys_were_removed(staff_client, two_passkeys):
    url = reverse("admin:jobseekers_jobseeker_change_email", args=[two_passkeys.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="remove_passkeys"' in page and "checked" in page
    assert "既定ですべて削除します" in page
    response = staff_client.post(
        url,
        {
            "new_email": "new@example.jp",
            "new_email_confirm": "new@example.jp",
            "remove_passkeys": "on",
        },
        follow=True,
    )
    assert "登録済みのパスキー（2個）はすべて削除しました。" in response.content.decode()
    assert not Passkey.objects.exists()


def test_staff_see_the_count_and_remove_them(staff_client, two_passkeys, smtp_server):
    page = staff_client.get(
        reverse("admin:jobseekers_jobseeker_change", args=[two_passkeys.pk])
    ).content.decode()
    link = reverse("admin:passkeys_passkey_changelist") + f"?user__id__exact={two_passkeys.user_id}"
    assert "2個" in page and link in page
    listing = staff_client.get(link).content.decode()
    assert "自宅のパソコン" in listing and "スマートフォン" in listing
    ids = list(Passkey.objects.values_list("pk", flat=True))
    response = staff_client.post(
        link, {"action": "remove_passkeys", "_selected_action": ids}, follow=True
    )
    assert "パスキーを2個削除しました" in response.content.decode()
    assert not Passkey.objects.exists()
    staff = get_user_model().objects.get(email="staff@example.jp")
    assert AuditEvent.objects.filter(action="passkey.removed", actor=staff).count() == 2
    deliver_mail()
    assert (
        len([m for m in smtp_server.to(two_passkeys.email) if "パスキー削除" in m["Subject"]]) == 2
    )


def test_staff_cannot_bypass_the_service_with_djangos_delete(staff_client, two_passkeys):
    passkey = Passkey.objects.first()
    response = staff_client.post(reverse("admin:passkeys_passkey_delete", args=[passkey.pk]))
    assert response.status_code == 403
    assert Passkey.objects.count() == 2


def test_a_removed_passkey_no_longer_logs_in_after_staff_removal(staff_client, logged_in, account):
    authenticator = SoftAuthenticator()
    add_passkey(logged_in, authenticator)
    staff_client.post(
        reverse("admin:passkeys_passkey_changelist"),
        {"action": "remove_passkeys", "_selected_action": [Passkey.objects.get().pk]},
    )
    client = Client()
    response = passkey_login(client, authenticator)
    assert "パスキーを確認できませんでした" in client.get(response.url).content.decode()


def test_a_registration_taking_over_a_left_behind_account_drops_its_passkeys(
    make_jobseeker, smtp_server
):
    left = get_user_model().objects.create_user("again@example.jp", PASSWORD)
    Passkey.objects.create(
        user=left, name="前の持ち主", credential_id="abc", public_key=b"x", user_handle="h"
    )
    seeker = make_jobseeker(email="again@example.jp")
    journey = Journey()
    journey.start("again@example.jp")
    deliver_mail()
    response = journey.complete(key_from(smtp_server.to("again@example.jp")[-1]))
    assert response.status_code == 302
    seeker.refresh_from_db()
    assert seeker.status == JobSeeker.Status.ACTIVE and seeker.user_id == left.pk
    assert not Passkey.objects.exists()
    assert AuditEvent.objects.filter(
        action="passkey.removed", detail__reason="registration_takeover"
    ).exists()
