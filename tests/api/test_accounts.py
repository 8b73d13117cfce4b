"""close / reopen, unlock and e-mail change through the API."""

import pytest
from django.contrib.auth import get_user_model

from portal.accounts.selectors import account_lock_until, mypage_allowed
from portal.accounts.services.lockout import login_failure_record
from portal.accounts.services.login import login_start
from portal.audit.models import AuditEvent
from portal.core.origin import RequestOrigin
from portal.core.refusal import Reason, Refused
from portal.jobseekers.models import JobSeeker
from portal.registration.answers import identity_answer as _identity_answer
from portal.registration.flow import Purpose

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(login_id: str, password: str) -> str:
    """The login's first step: "ok", or "failed" for a refused password (another refusal by its
    reason)."""
    try:
        login_start(login_id, password, origin=RequestOrigin(ip="192.0.2.1"))
    except Refused as refusal:
        return "failed" if refusal.reason == Reason.LOGIN_FAILED else str(refusal.reason)
    return "ok"


@pytest.fixture(autouse=True)
def _no_otp(settings):
    settings.LOGIN_OTP_ENABLED = False


def test_close_and_reopen(api, make_account):
    seeker = make_account(number="13010-00000001", email="taro@example.jp")
    assert _login("taro@example.jp", PASSWORD) == "ok"
    response = api.post("/jobseekers/13010-00000001/close")
    assert response.status_code == 200
    assert response.json()["account"]["state"] == "closed"
    seeker.refresh_from_db()
    assert seeker.closed_at is not None and seeker.user is not None  # nothing erased
    # Closed: no login, no registration.
    assert _login("taro@example.jp", PASSWORD) == "failed"
    assert not mypage_allowed(seeker.user)
    assert _identity_answer(Purpose.REGISTER, seeker, seeker.birth_date)[1:] == (False, False)
    # Closing twice changes nothing more.
    assert api.post("/jobseekers/13010-00000001/close").status_code == 200
    assert AuditEvent.objects.filter(action="jobseeker.closed").count() == 1
    response = api.post("/jobseekers/13010-00000001/reopen")
    assert response.status_code == 200
    assert response.json()["account"]["state"] == "active"
    assert _login("taro@example.jp", PASSWORD) == "ok"
    event = AuditEvent.objects.get(action="jobseeker.reopened")
    assert event.actor_label == "API:基幹システム"


def test_closed_pending_job_seeker_cannot_start_registration(api, make_jobseeker):
    seeker = make_jobseeker(number="13010-00000001")
    api.post("/jobseekers/13010-00000001/close")
    seeker.refresh_from_db()
    assert _identity_answer(Purpose.REGISTER, seeker, seeker.birth_date) == (
        "identity_mismatch",
        False,
        False,
    )
    api.post("/jobseekers/13010-00000001/reopen")
    seeker.refresh_from_db()
    assert _identity_answer(Purpose.REGISTER, seeker, seeker.birth_date)[2] is True


def test_close_unknown_is_404(api):
    assert api.post("/jobseekers/13010-00000001/close").status_code == 404


def test_write_token_cannot_unlock_or_change_an_opened_address(api_as, make_account):
    make_account(number="13010-00000001", email="taro@example.jp")
    write = api_as("register:write")
    assert write.post("/jobseekers/13010-00000001/unlock").status_code == 403
    response = write.post("/jobseekers/13010-00000001/email-change", {"email": "new@example.jp"})
    assert response.status_code == 403
    assert JobSeeker.objects.get().email == "taro@example.jp"


def test_unlock_calls_the_counter_unlock(api_as, make_account, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP = 2
    seeker = make_account(number="13010-00000001", email="taro@example.jp")
    for _ in range(2):
        login_failure_record(
            "taro@example.jp", origin=RequestOrigin(ip="192.0.2.1"), user=seeker.user
        )
    assert account_lock_until(seeker.user) is not None
    api = api_as("accounts:unlock", "register:read")
    assert api.get("/jobseekers/13010-00000001").json()["account"]["state"] == "locked"
    response = api.post("/jobseekers/13010-00000001/unlock")
    assert response.status_code == 200
    assert response.json() == {"number": "13010-00000001", "locks_cleared": 1}
    assert account_lock_until(seeker.user) is None
    event = AuditEvent.objects.get(action="account.lock_cleared")
    assert event.actor_label == "API:基幹システム"


def test_unlock_without_an_account_is_409(api, make_jobseeker):
    make_jobseeker(number="13010-00000001")
    response = api.post("/jobseekers/13010-00000001/unlock")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:mypage:api:problem:no-account"


def test_email_change_mails_the_old_address(api_as, make_account, smtp_server):
    from portal.mail.services import mail_deliver_due

    make_account(number="13010-00000001", email="taro@example.jp")
    api = api_as("accounts:email-change")
    response = api.post("/jobseekers/13010-00000001/email-change", {"email": "jiro@example.jp"})
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "jiro@example.jp"
    assert get_user_model().objects.filter(email="jiro@example.jp").exists()
    mail_deliver_due()
    assert smtp_server.to("taro@example.jp")
    taken = api.post("/jobseekers/13010-00000001/email-change", {"email": "jiro@example.jp"})
    assert taken.status_code == 409
    bad = api.post("/jobseekers/13010-00000001/email-change", {"email": "not-an-address"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "email"


def test_email_changes_are_capped_per_client_per_day(api_as, make_account, settings):
    settings.API_EMAIL_CHANGES_PER_CLIENT_PER_DAY = 1
    make_account(number="13010-00000001", email="taro@example.jp")
    api = api_as("accounts:email-change")
    first = api.post("/jobseekers/13010-00000001/email-change", {"email": "jiro@example.jp"})
    assert first.status_code == 200
    second = api.post(
        "/jobseekers/13010-00000001/email-change",
        {"email": "saburo@example.jp"},
        headers={"Idempotency-Key": "k"},
    )
    assert second.status_code == 429
    assert second.json()["type"] == "urn:mypage:api:problem:daily-cap"
    assert 1 <= int(second["Retry-After"]) <= 86400
    assert JobSeeker.objects.get().email == "jiro@example.jp"
