"""The counter's e-mail change: one service ends the job seeker's open flows, sessions, pending
one-time passwords and trusted browsers, mails the old and the new address, writes an audit
event; the login ID follows the address."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.accounts.models import LoginChallenge, TrustedBrowser, UserSession
from portal.accounts.selectors import session_store
from portal.audit.models import AuditEvent
from portal.core.origin import RequestOrigin
from portal.counter.services import jobseeker_change_email
from portal.registration.models import RegistrationFlow
from tests.accounts.conftest import PASSWORD, deliver_mail, login_post, otp_from, otp_post
from tests.browser_client import BrowserClient as Client

pytestmark = pytest.mark.django_db


def open_reset_flow(email: str) -> Client:
    client = Client()
    client.post(
        reverse("registration:reset_start"),
        {"email": email, "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )
    return client


def test_change_ends_everything_mails_both_and_audits(make_account, smtp_server, settings):
    settings.MAILS_PER_ADDRESS_PER_DAY = 50
    account = make_account("old@example.jp", number="13010-00000077")
    # A browser logged in and trusted, another with a pending one-time password, a reset flow.
    trusted = Client()
    login_post(trusted, account.email)
    otp_post(trusted, otp_from(smtp_server, account.email), remember=True)
    session_key = trusted.cookies[settings.SESSION_COOKIE_NAME].value
    pending = Client()
    login_post(pending, account.email)
    open_reset_flow(account.email)
    open_flows = RegistrationFlow.objects.filter(jobseeker=account, ended_reason="")
    assert open_flows.exists()
    staff = make_account("counter@example.jp").user

    changed = jobseeker_change_email(
        account, " New@Example.JP ", actor=staff, origin=RequestOrigin(ip="10.1.1.1")
    )

    assert changed.email == "new@example.jp"
    account.user.refresh_from_db()
    assert account.user.email == "new@example.jp"
    # Sessions, trusted browsers, pending one-time passwords and flows are over.
    assert not session_store()().exists(session_key)
    assert not UserSession.objects.filter(user=account.user).exists()
    assert trusted.get(reverse("accounts:mypage")).status_code == 302
    assert not TrustedBrowser.objects.filter(user=account.user).exists()
    assert not LoginChallenge.objects.filter(
        user=account.user, completed_at__isnull=True, ended_at__isnull=True
    ).exists()
    assert otp_post(pending, "000000").url == reverse("accounts:login")
    assert set(
        RegistrationFlow.objects.filter(jobseeker=account).values_list("ended_reason", flat=True)
    ) == {"email_changed"}
    # Both addresses are told, over real SMTP.
    deliver_mail()
    old_mail = smtp_server.to("old@example.jp")[-1]
    new_mail = smtp_server.to("new@example.jp")[-1]
    assert "メールアドレス変更のお知らせ" in old_mail["Subject"]
    assert "メールアドレス登録のお知らせ" in new_mail["Subject"]
    assert "new@example.jp" in new_mail.get_content()
    # One audit event, with who and from where, no secrets.
    event = AuditEvent.objects.get(action="jobseeker.email_changed")
    assert event.target_id == "13010-00000077" and event.actor == staff
    assert event.ip == "10.1.1.1"
    assert event.detail["old_email"] == "old@example.jp"
    assert event.detail["new_email"] == "new@example.jp"
    # The login ID followed the address; the password did not change; the trusted cookie is void.
    assert login_post(trusted, "old@example.jp").status_code == 200
    assert login_post(trusted, "new@example.jp", PASSWORD).url == reverse("accounts:otp")


def test_change_for_a_pending_job_seeker(make_jobseeker, smtp_server):
    seeker = make_jobseeker(email="pending@example.jp")
    open_reset_flow("pending@example.jp")
    jobseeker_change_email(seeker, "later@example.jp", actor_label="counter")
    seeker.refresh_from_db()
    assert seeker.email == "later@example.jp" and seeker.user is None
    deliver_mail()
    assert smtp_server.to("pending@example.jp") and smtp_server.to("later@example.jp")


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("not-an-address", "形式"),
        ("taken@example.jp", "使われています"),
        ("TAKEN@example.jp", "使われています"),
        ("old@example.jp", "現在と同じ"),
    ],
)
def test_refused_changes_change_nothing(make_account, make_jobseeker, address, message):
    account = make_account("old@example.jp")
    make_jobseeker(email="taken@example.jp")
    with pytest.raises(ValidationError) as exc:
        jobseeker_change_email(account, address)
    assert message in " ".join(exc.value.messages)
    account.refresh_from_db()
    assert account.email == "old@example.jp"
    assert not AuditEvent.objects.filter(action="jobseeker.email_changed").exists()


def test_an_address_held_by_a_staff_login_is_refused(make_account):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("staff@example.jp", PASSWORD, is_staff=True)
    account = make_account("old@example.jp")
    with pytest.raises(ValidationError):
        jobseeker_change_email(account, "staff@example.jp")
