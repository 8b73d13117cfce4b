"""Cases found in review: each one a way the flow could be misused or break."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.jobseekers.models import JobSeeker
from portal.jobseekers.services import jobseeker_register
from portal.mail import services as mail_services
from portal.mail.models import OutboundMail
from portal.registration import services
from portal.registration.models import RegistrationFlow
from tests.registration.journey import Journey, deliver_mail, key_from

pytestmark = pytest.mark.django_db


def _at_step_three(smtp_server, email):
    journey = Journey()
    journey.start(email)
    deliver_mail()
    return journey, key_from(smtp_server.to(email)[-1])


def test_key_mailed_to_an_address_the_counter_corrected_no_longer_works(
    make_jobseeker, smtp_server
):
    seeker = make_jobseeker(email="typo@example.jp")
    journey, key = _at_step_three(smtp_server, "typo@example.jp")
    jobseeker_register(
        {"number": seeker.number, "name": seeker.name, "name_kana": seeker.name_kana,
         "email": "right@example.jp", "birth_date": "1990-04-01"},
        actor_label="counter",
    )  # fmt: skip
    response = journey.complete(key)
    assert response.url == reverse("registration:terms")
    seeker.refresh_from_db()
    assert seeker.status == JobSeeker.Status.PENDING and seeker.user is None


def test_expired_is_said_only_for_the_right_key(make_jobseeker, smtp_server, clock):
    make_jobseeker(email="exp@example.jp")
    journey, key = _at_step_three(smtp_server, "exp@example.jp")
    clock.advance(minutes=51)
    wrong = "00000000" if key != "00000000" else "11111111"
    html = journey.complete(wrong).content.decode()
    assert "認証キーが正しくありません" in html
    assert "有効期限（メール配信から50分）が切れています" not in html
    assert "有効期限（メール配信から50分）が切れています" in journey.complete(key).content.decode()
    # An unknown address's flow never hears "expired": it has no key that could be right.
    other = Journey()
    other.start("nobody@example.jp")
    clock.advance(minutes=51)
    assert "認証キーが正しくありません" in other.complete(key).content.decode()


def test_argon2_is_spent_only_on_a_key_that_can_succeed(make_jobseeker, smtp_server, monkeypatch):
    make_jobseeker(email="hash@example.jp")
    journey, key = _at_step_three(smtp_server, "hash@example.jp")
    calls = []
    real = services.make_password
    monkeypatch.setattr(services, "make_password", lambda p: calls.append(1) or real(p))
    wrong = "00000000" if key != "00000000" else "11111111"
    for _ in range(3):
        journey.complete(wrong)
    assert calls == []
    assert journey.complete(key).url == reverse("registration:done")
    assert calls == [1]


def test_existing_staff_account_with_the_address_ends_the_flow_cleanly(make_jobseeker, smtp_server):
    get_user_model().objects.create_user("clerk@example.jp", "Staff#pass123", is_staff=True)
    seeker = make_jobseeker(email="clerk@example.jp")
    journey, key = _at_step_three(smtp_server, "clerk@example.jp")
    response = journey.complete(key)
    assert response.url == reverse("registration:terms")
    assert (
        "このメールアドレスではマイページを開設できません"
        in journey.client.get(response.url).content.decode()
    )
    seeker.refresh_from_db()
    assert seeker.status == JobSeeker.Status.PENDING and seeker.user is None


def test_account_left_behind_by_an_earlier_registration_is_taken_over(make_jobseeker, smtp_server):
    leftover = get_user_model().objects.create_user("again@example.jp", "Old#pass1234")
    seeker = make_jobseeker(email="again@example.jp")
    journey, key = _at_step_three(smtp_server, "again@example.jp")
    assert journey.complete(key).url == reverse("registration:done")
    seeker.refresh_from_db()
    assert seeker.user == leftover and seeker.status == JobSeeker.Status.ACTIVE


@pytest.mark.parametrize("field", ["birth_year", "birth_month", "birth_day"])
def test_very_long_birth_date_parts_get_a_message(db, field):
    journey = Journey()
    journey.agree()
    data = {"email": "a@example.jp", "birth_year": "1990", "birth_month": "4", "birth_day": "1"}
    data[field] = "9" * 5000
    response = journey.client.post(reverse("registration:identity"), data)
    assert response.status_code == 200
    assert "半角数字で入力してください" in response.content.decode()


def test_double_submit_of_identity_sends_one_key(make_jobseeker, smtp_server):
    make_jobseeker(email="dbl@example.jp")
    journey = Journey()
    journey.agree()
    journey.identity("dbl@example.jp")
    journey.identity("dbl@example.jp")  # the second click of a double click
    deliver_mail()
    [mail] = smtp_server.to("dbl@example.jp")
    assert journey.complete(key_from(mail)).url == reverse("registration:done")


def test_changing_the_address_back_and_forth_counts_as_resends(
    make_jobseeker, smtp_server, clock, settings
):
    settings.MAILS_PER_ADDRESS_PER_DAY = 50
    make_jobseeker(email="loop@example.jp")
    journey = Journey()
    journey.start("loop@example.jp")
    change = reverse("registration:change_address")
    journey.client.post(change)
    page = journey.identity("loop@example.jp").content.decode()  # same address, at once
    # Worded for what the person did (asked for a key on ②), as a time.
    assert "同じメールアドレスへの新しい認証キーは、" in page and "以降に送信できます" in page
    assert "再送信" not in page.split('id="error-summary-title"')[1].split("</ul>")[0]
    for _ in range(3):
        clock.advance(seconds=61)
        journey.client.post(change)
        journey.identity("loop@example.jp")
    journey.client.post(change)
    clock.advance(seconds=61)
    assert "送信できる認証キーの回数（4回）を超えました" in (
        journey.identity("loop@example.jp").content.decode()
    )
    assert RegistrationFlow.objects.get().resends == 3


def test_past_the_cap_the_flow_stays_on_identity_and_no_key_is_made(
    make_jobseeker, smtp_server, settings
):
    settings.MAILS_PER_ADDRESS_PER_DAY = 0
    make_jobseeker(email="capped@example.jp")
    journey = Journey()
    response = journey.start("capped@example.jp")
    assert response.url == reverse("registration:identity")
    flow = RegistrationFlow.objects.get()
    assert flow.stage == "terms_agreed" and flow.key_hash is None
    assert not OutboundMail.objects.exists()


def test_resend_cancels_a_key_mail_still_waiting_in_the_outbox(
    make_jobseeker, smtp_server, clock, settings
):
    make_jobseeker(email="wait@example.jp")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # SMTP down
    journey = Journey()
    journey.start("wait@example.jp")
    clock.advance(seconds=61)
    journey.resend()
    statuses = list(OutboundMail.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["superseded", "queued"]
    settings.EMAIL_PORT = port
    deliver_mail()
    [mail] = smtp_server.to("wait@example.jp")
    assert journey.complete(key_from(mail)).url == reverse("registration:done")


def test_a_worker_whose_lease_ran_out_does_not_send_the_mail_again(smtp_server, clock, settings):
    settings.MAIL_LEASE_SECONDS = 60
    mail_services.mail_queue(to="lease@example.jp", kind="identity_mismatch", context={})
    [claimed_by_a] = mail_services._claim(10)  # worker A claims, then stalls
    clock.advance(seconds=61)
    assert mail_services.mail_deliver_due().sent == 1  # worker B takes over and sends
    assert mail_services._renew_lease(claimed_by_a) is False  # A sees it is no longer its own
    assert len(smtp_server.to("lease@example.jp")) == 1


def test_terms_agreements_are_rate_limited_per_ip(db, settings):
    settings.FLOW_STARTS_PER_IP_PER_HOUR = 2
    journey = Journey()
    assert [journey.agree().url for _ in range(3)] == [
        reverse("registration:identity"),
        reverse("registration:identity"),
        reverse("registration:terms"),
    ]
    assert RegistrationFlow.objects.count() == 2


def test_resend_racing_a_completion_in_another_tab_lands_on_the_right_screen(
    make_jobseeker, smtp_server, monkeypatch
):
    make_jobseeker(email="race@example.jp")
    journey, key = _at_step_three(smtp_server, "race@example.jp")
    real_resend = services.flow_resend_key

    def completed_meanwhile(flow, **kwargs):
        journey_other = Journey(journey.client)
        journey_other.complete(key)  # the other tab wins between resume and resend
        return real_resend(flow, **kwargs)

    monkeypatch.setattr(services, "flow_resend_key", completed_meanwhile)
    response = journey.resend()
    assert response.url == reverse("registration:done")


def test_right_key_while_its_mail_is_still_being_sent_completes(make_jobseeker, smtp_server):
    make_jobseeker(email="inflight@example.jp")
    journey, key = _at_step_three(smtp_server, "inflight@example.jp")
    # The moment after the SMTP server accepted the mail and before the worker recorded it.
    OutboundMail.objects.filter(to="inflight@example.jp").update(
        status="sending", sent_at=None, handed_over_at=None
    )
    assert journey.complete(key).url == reverse("registration:done")
    assert RegistrationFlow.objects.get().wrong_keys == 0
    assert JobSeeker.objects.get(email="inflight@example.jp").status == JobSeeker.Status.ACTIVE
