"""Recovering access at the console with SMTP down (no `smtp_server` fixture: mail goes to a
closed port): unlock a job seeker, unlock a staff member, reset a staff member's second factor,
and give a staff member the one-time password their mail cannot bring. Each is audited with the
operator's name."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from portal.accounts.models import LoginChallenge
from portal.accounts.selectors import login_lock_status
from portal.audit.models import AuditEvent
from portal.core.origin import RequestOrigin
from portal.mail.models import OutboundMail
from tests.accounts.conftest import PASSWORD, login_post
from tests.staff import staff_password_post

pytestmark = pytest.mark.django_db

STAFF = "staff@example.jp"
WRONG = "Wrong#pass99"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user(STAFF, PASSWORD, is_staff=True)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def mail_is_down():
    call_command("deliver_mail", "--once")
    return not OutboundMail.objects.filter(status=OutboundMail.Status.SENT).exists()


def test_the_operator_is_required(staff):
    with pytest.raises(CommandError):
        call_command("unlock_staff", STAFF)
    with pytest.raises(CommandError):
        call_command("unlock_staff", STAFF, "--operator", "  ")


def test_unlock_a_job_seeker_with_smtp_down(account):
    for _ in range(5):
        login_post(Client(), account.email, WRONG)
    assert login_lock_status(account.email, RequestOrigin(ip="127.0.0.1")).locked
    out = run("unlock_jobseeker", account.number, "--operator", "運用 太郎")
    assert "1 lock(s) lifted" in out
    assert not login_lock_status(account.email, RequestOrigin(ip="127.0.0.1")).locked
    event = AuditEvent.objects.get(action="account.lock_cleared")
    assert event.actor_label == "console:運用 太郎" and event.target_id == str(account.user_id)
    run("unlock_jobseeker", account.email.upper(), "--operator", "運用 太郎")  # by address too
    assert mail_is_down()


def test_unlock_a_job_seeker_without_an_account_or_not_found(make_jobseeker):
    seeker = make_jobseeker()
    assert "no My Page account" in run("unlock_jobseeker", seeker.number, "--operator", "a")
    with pytest.raises(CommandError):
        call_command("unlock_jobseeker", "99999-99999999", "--operator", "a")


def test_unlock_a_staff_member_with_smtp_down(staff):
    for _ in range(5):
        staff_password_post(Client(), STAFF, WRONG)
    page = staff_password_post(Client(), STAFF, PASSWORD).content.decode()
    assert "一時的に停止しています" in page
    assert "1 lock(s) lifted" in run("unlock_staff", STAFF, "--operator", "運用 太郎")
    response = staff_password_post(Client(), STAFF, PASSWORD)
    assert response.url == reverse("admin:staff_otp")
    assert AuditEvent.objects.filter(
        action="account.lock_cleared", actor_label="console:運用 太郎"
    ).exists()
    assert mail_is_down()


def test_unlock_staff_refuses_a_job_seekers_account(account):
    with pytest.raises(CommandError):
        call_command("unlock_staff", account.email, "--operator", "a")


def test_a_staff_member_gets_in_with_smtp_down_through_the_console(staff):
    client = Client()
    response = staff_password_post(client, STAFF, PASSWORD)
    assert response.url == reverse("admin:staff_otp")
    assert mail_is_down()  # the one-time password mail cannot go out
    out = run("issue_staff_login_code", STAFF, "--operator", "運用 太郎")
    code = re.search(r": (\d+)$", out.strip()).group(1)
    response = client.post(reverse("admin:staff_otp"), {"code": code})
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    event = AuditEvent.objects.get(action="staff.login_code_issued")
    assert event.actor_label == "console:運用 太郎" and code not in str(event.detail)


def test_no_console_code_without_a_login_begun(staff):
    assert "no login begun" in run("issue_staff_login_code", STAFF, "--operator", "a")
    assert not AuditEvent.objects.filter(action="staff.login_code_issued").exists()


def test_reset_a_staff_members_second_factor_with_smtp_down(staff):
    client = Client()
    staff_password_post(client, STAFF, PASSWORD)
    for _ in range(5):
        staff_password_post(Client(), STAFF, WRONG, REMOTE_ADDR="10.9.9.9")
    out = run("reset_staff_second_factor", STAFF, "--operator", "運用 太郎")
    assert "1 one-time-password step(s) ended, 1 lock(s) lifted" in out
    assert not LoginChallenge.objects.filter(user=staff, ended_at=None, completed_at=None).exists()
    # The step begun before the reset is over: the staff member starts again.
    response = client.get(reverse("admin:staff_otp"))
    assert response.url == reverse("admin:login")
    assert staff_password_post(Client(), STAFF, PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302
    assert AuditEvent.objects.get(action="staff.second_factor_reset").actor_label == (
        "console:運用 太郎"
    )
    assert mail_is_down()
