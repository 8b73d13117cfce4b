"""Staff accounts and job seekers' accounts apart in the staff admin, and one way to change a
job seeker's address, shown by posting to the admin's own pages as a browser would (CSRF
checked, the token taken from the page): no form changes a job seeker's login e-mail or makes
their account staff; the register and the login never disagree. Also a staff member's own
address change (one-time password to the new address, notice to the old one) and the
permission names in Japanese."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from tests.accounts.conftest import PASSWORD, login_post
from tests.staff import staff_force_login, staff_otp_from

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def admin_browser():
    """An administrator (管理者) in a browser whose posts must carry the page's CSRF token."""
    user = User.objects.create_user("admin@example.jp", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="管理者"))
    return staff_force_login(Client(enforce_csrf_checks=True), user), user


def browser_post(client, url, data):
    """GET the page, then POST the form with the page's CSRF token, as a browser does."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    token = CSRF.search(page.content.decode()).group(1)
    return client.post(url, {"csrfmiddlewaretoken": token, **data})


def everything_staff(group):
    return {
        "email": "evil@example.jp",
        "display_name": "x",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [group.pk],
        "user_permissions": list(Permission.objects.values_list("pk", flat=True)[:5]),
    }


def assert_unchanged(account):
    account.refresh_from_db()
    user = User.objects.get(pk=account.user_id)
    assert account.email == user.email == "taro@example.jp"  # register and login agree
    assert not user.is_staff and not user.is_superuser
    assert not user.groups.exists() and not user.user_permissions.exists()


def result_list(client, url) -> str:
    page = client.get(url).content.decode()
    return re.search(r'<table id="result_list">.*?</table>', page, re.S).group(0)


def test_lists_are_apart(admin_browser, account):
    client, admin_user = admin_browser
    staff_list = result_list(client, reverse("admin:accounts_user_changelist"))
    assert admin_user.email in staff_list and account.email not in staff_list
    seekers = result_list(client, reverse("admin:accounts_jobseekeraccount_changelist"))
    assert account.email in seekers and admin_user.email not in seekers
    index = client.get(reverse("admin:index")).content.decode()
    assert "職員アカウント" in index and "求職者のアカウント" in index


def test_a_job_seekers_account_is_reached_from_the_job_seekers_page(admin_browser, account):
    client, _ = admin_browser
    page = client.get(reverse("admin:jobseekers_jobseeker_change", args=[account.pk]))
    url = reverse("admin:accounts_jobseekeraccount_change", args=[account.user_id])
    assert f'href="{url}"' in page.content.decode()
    account_page = client.get(url).content.decode()
    job_seeker_url = reverse("admin:jobseekers_jobseeker_change", args=[account.pk])
    assert f'href="{job_seeker_url}"' in account_page
    # Nothing there can make it staff or change its address.
    for name in ("email", "is_staff", "is_superuser", "groups", "user_permissions"):
        assert f'name="{name}"' not in account_page


def test_a_job_seekers_account_cannot_be_made_staff_or_readdressed_from_its_page(
    admin_browser, account
):
    client, _ = admin_browser
    url = reverse("admin:accounts_jobseekeraccount_change", args=[account.user_id])
    response = browser_post(client, url, everything_staff(Group.objects.get(name="管理者")))
    assert response.status_code == 302
    assert_unchanged(account)
    assert User.objects.get(pk=account.user_id).is_active


def test_the_staff_user_form_does_not_reach_a_job_seekers_account(admin_browser, account):
    client, _ = admin_browser
    url = reverse("admin:accounts_user_change", args=[account.user_id])
    response = client.get(url)
    assert response.status_code == 302  # the admin's "no such object": not among staff
    token = CSRF.search(client.get(reverse("admin:index")).content.decode()).group(1)
    data = {"csrfmiddlewaretoken": token, **everything_staff(Group.objects.get(name="管理者"))}
    assert client.post(url, data).status_code == 302
    response = client.post(
        reverse("admin:auth_user_password_change", args=[account.user_id]),
        {"csrfmiddlewaretoken": token, "password1": "New#pass1234", "password2": "New#pass1234"},
    )
    assert response.status_code in (302, 404)
    assert User.objects.get(pk=account.user_id).check_password(PASSWORD)
    assert_unchanged(account)


def test_the_job_seeker_form_does_not_change_an_opened_accounts_address(admin_browser, account):
    client, _ = admin_browser
    url = reverse("admin:jobseekers_jobseeker_change", args=[account.pk])
    data = {
        "name": account.name,
        "name_kana": account.name_kana,
        "email": "evil@example.jp",
        "birth_date": account.birth_date.isoformat(),
        "office": account.office,
    }
    response = browser_post(client, url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_unchanged(account)


def test_a_staff_account_cannot_take_a_job_seekers_address(admin_browser, make_jobseeker):
    client, _ = admin_browser
    make_jobseeker(email="pending@example.jp")
    response = browser_post(
        client,
        reverse("admin:accounts_user_add"),
        {
            "email": "Pending@example.jp",
            "display_name": "x",
            "password1": "Fresh#pass123",
            "password2": "Fresh#pass123",
        },
    )
    assert response.status_code == 200
    assert "求職者の登録に使われています" in response.content.decode()
    assert not User.objects.filter(email="pending@example.jp").exists()


def test_a_new_staff_account_is_staff(admin_browser):
    client, _ = admin_browser
    browser_post(
        client,
        reverse("admin:accounts_user_add"),
        {"email": "clerk@example.jp", "password1": "Fresh#pass123", "password2": "Fresh#pass123"},
    )
    assert User.objects.get(email="clerk@example.jp").is_staff


def test_the_counters_change_is_the_one_way_and_keeps_register_and_login_together(
    admin_browser, account, smtp_server
):
    client, admin_user = admin_browser
    seeker_client = Client()
    login_post(seeker_client, account.email)  # an open one-time-password step
    response = browser_post(
        client,
        reverse("admin:jobseekers_jobseeker_change_email", args=[account.pk]),
        {"new_email": "New@Example.jp", "new_email_confirm": "new@example.jp"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    user = User.objects.get(pk=account.user_id)
    assert account.email == user.email == "new@example.jp"
    mails = OutboundMail.objects.filter(kind__in=["email_changed_old", "email_changed_new"])
    assert sorted(mails.values_list("kind", "to")) == [
        ("email_changed_new", "new@example.jp"),
        ("email_changed_old", "taro@example.jp"),
    ]
    event = AuditEvent.objects.get(action="jobseeker.email_changed")
    assert event.actor == admin_user and event.detail["new_email"] == "new@example.jp"
    assert not user.login_challenges.filter(completed_at=None, ended_at=None).exists()


# --- A staff member's own address ----------------------------------------------------------


def test_a_staff_member_changes_their_own_address_with_a_one_time_password(
    admin_browser, smtp_server
):
    client, admin_user = admin_browser
    page = client.get(reverse("admin:accounts_user_change", args=[admin_user.pk]))
    email_url = reverse("admin:staff_email_change")
    assert f'href="{email_url}"' in page.content.decode()
    response = browser_post(
        client,
        email_url,
        {"new_email": "boss@example.jp", "new_email_confirm": "boss@example.jp"},
    )
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.email == "admin@example.jp"  # not before the one-time password
    code = staff_otp_from(smtp_server, "boss@example.jp")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page = browser_post(client, email_url, {"code": wrong}).content.decode()
    assert "ワンタイムパスワードが正しくありません" in page
    response = browser_post(client, email_url, {"code": code})
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.email == "boss@example.jp"
    notice = OutboundMail.objects.get(kind="staff_email_changed")
    assert notice.to == "admin@example.jp"
    event = AuditEvent.objects.get(action="staff.email_changed")
    assert event.actor == admin_user and event.detail["old_email"] == "admin@example.jp"
    assert client.get(reverse("admin:index")).status_code == 200  # this session stays


def test_another_staff_members_address_is_not_changed_by_the_user_form(admin_browser):
    client, _ = admin_browser
    other = User.objects.create_user("other@example.jp", PASSWORD, is_staff=True)
    url = reverse("admin:accounts_user_change", args=[other.pk])
    page = client.get(url).content.decode()
    # The page's own content (the header's user links offer the viewer's own address only).
    content = page[page.index('<div id="content"') :]
    assert 'name="email"' not in page and reverse("admin:staff_email_change") not in content
    response = browser_post(
        client, url, {"email": "evil@example.jp", "display_name": "x", "is_active": "on"}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.email == "other@example.jp" and other.display_name == "x"


def test_a_staff_address_cannot_be_a_job_seekers(admin_browser, account, smtp_server):
    client, _ = admin_browser
    page = browser_post(
        client,
        reverse("admin:staff_email_change"),
        {"new_email": account.email, "new_email_confirm": account.email},
    ).content.decode()
    assert "使われています" in page
    assert not OutboundMail.objects.filter(to=account.email, kind="staff_email_code").exists()


# --- Permission names ----------------------------------------------------------------------


def test_permission_names_read_in_japanese(admin_browser):
    client, admin_user = admin_browser
    group = Group.objects.get(name="窓口職員")
    for url in (
        reverse("admin:auth_group_change", args=[group.pk]),
        reverse("admin:accounts_user_change", args=[admin_user.pk]),
    ):
        page = client.get(url).content.decode()
        assert "求職者台帳｜求職者の変更" in page
        assert "アカウント｜求職者のアカウントの閲覧" in page
        assert not re.search(r">[^<]*\bCan (add|change|delete|view)\b", page)
    assert JobSeeker._meta.verbose_name == "求職者"
