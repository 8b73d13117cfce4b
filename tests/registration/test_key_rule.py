"""The auth key and its mail's delivery: a right key for the flow's current key mail works
whenever that mail may have reached its owner — still being sent, sent, or queued again after
an SMTP answer that was lost — and its time runs from the mail's first hand-over to SMTP."""

import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.urls import reverse

from portal.jobseekers.models import JobSeeker
from portal.mail.models import MailAttempt, OutboundMail
from portal.mail.services import format_jst, mail_deliver_due
from portal.registration.models import RegistrationFlow
from tests.browser_client import BrowserClient as Client
from tests.mail.sinks import EntersTheKey, LosesTheAnswer
from tests.registration.journey import GOOD_PASSWORD, Journey, deliver_mail, key_from
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Momiji!2027up"


def _worker_in_a_thread():
    """One batch of the mail worker, in a thread of its own (so that the SMTP server may wait
    on a request before it answers); returns its report."""
    [report] = run_at_once([mail_deliver_due])
    return report


@pytest.mark.django_db(transaction=True)
def test_key_entered_before_the_smtp_server_answers_completes_the_registration(
    make_jobseeker, settings
):
    seeker = make_jobseeker(email="quick@example.jp")
    journey = Journey()
    journey.start("quick@example.jp")

    def enter(message):
        status = OutboundMail.objects.get(to="quick@example.jp").status
        return status, journey.complete(key_from(message))

    with EntersTheKey(enter) as sink:
        settings.EMAIL_PORT = sink.port
        report = _worker_in_a_thread()

    [(status_then, answer)] = sink.answers
    assert status_then == OutboundMail.Status.SENDING  # the worker still waited for the 250
    assert answer.status_code == 302 and answer.url == reverse("registration:done")
    assert "パスワード登録完了" in journey.client.get(answer.url).content.decode()
    seeker.refresh_from_db()
    assert seeker.status == JobSeeker.Status.ACTIVE and seeker.user.is_active
    assert authenticate(username="quick@example.jp", password=GOOD_PASSWORD) == seeker.user
    assert report.sent == 1
    key_mail = RegistrationFlow.objects.get().key_mail
    assert key_mail.status == OutboundMail.Status.SENT
    assert list(key_mail.attempt_log.values_list("ok", flat=True)) == [True]


@pytest.mark.django_db(transaction=True)
def test_reset_key_entered_before_the_smtp_server_answers_completes_the_reset(
    make_jobseeker, smtp_server, settings
):
    seeker = make_jobseeker(email="again@example.jp")
    journey = Journey()
    journey.start("again@example.jp")
    deliver_mail()
    journey.complete(key_from(smtp_server.to("again@example.jp")[-1]))
    reset = Client()
    reset.post(
        reverse("registration:reset_start"),
        {"email": "again@example.jp", "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )

    def enter(message):
        return reset.post(
            reverse("registration:reset_password"),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "key": key_from(message)},
        )

    with EntersTheKey(enter) as sink:
        settings.EMAIL_PORT = sink.port
        _worker_in_a_thread()

    [answer] = sink.answers
    assert answer.url == reverse("registration:reset_done")
    seeker.refresh_from_db()
    assert authenticate(username="again@example.jp", password=NEW_PASSWORD) == seeker.user


def test_lost_smtp_answer_requeues_and_the_right_key_still_completes(
    make_jobseeker, settings, clock
):
    make_jobseeker(email="lost@example.jp")
    journey = Journey()
    journey.start("lost@example.jp")
    first_attempt = clock.now()

    with LosesTheAnswer() as sink:
        settings.EMAIL_PORT = sink.port
        report = mail_deliver_due()
    [received] = sink.messages  # the server has it; the worker never heard so

    assert (report.sent, report.retried) == (0, 1)
    mail = RegistrationFlow.objects.get().key_mail
    assert mail.status == OutboundMail.Status.QUEUED and mail.attempts == 1
    [attempt] = MailAttempt.objects.filter(mail=mail)
    assert not attempt.ok and "SMTPServerDisconnected" in attempt.error
    assert mail.handed_over_at == first_attempt  # the key's time started with this attempt
    deadline = first_attempt + dt.timedelta(minutes=settings.AUTH_KEY_LIFETIME_MINUTES)
    assert format_jst(deadline) in received.get_content()

    clock.advance(minutes=49, seconds=59)
    assert journey.complete(key_from(received)).url == reverse("registration:done")
    assert JobSeeker.objects.get(email="lost@example.jp").status == JobSeeker.Status.ACTIVE


def test_after_a_lost_answer_the_key_runs_from_the_first_attempt_and_the_copy_says_so(
    make_jobseeker, settings, clock
):
    make_jobseeker(email="twice@example.jp")
    journey = Journey()
    journey.start("twice@example.jp")
    first_attempt = clock.now()
    with LosesTheAnswer(times=1) as sink:
        settings.EMAIL_PORT = sink.port
        mail_deliver_due()
        clock.advance(seconds=settings.MAIL_RETRY_BASE_SECONDS)
        assert mail_deliver_due().sent == 1
        assert mail_deliver_due().handled == 0
    first, second = sink.messages  # the one mail whose answer was lost, sent twice
    assert key_from(first) == key_from(second)
    deadline = format_jst(first_attempt + dt.timedelta(minutes=settings.AUTH_KEY_LIFETIME_MINUTES))
    assert deadline in first.get_content() and deadline in second.get_content()
    mail = RegistrationFlow.objects.get().key_mail
    assert mail.status == OutboundMail.Status.SENT and mail.handed_over_at == first_attempt

    # 50 minutes and a second after the first attempt, under 50 after the copy: over.
    clock.advance(minutes=49, seconds=31)
    html = journey.complete(key_from(second)).content.decode()
    assert "有効期限（メール配信から50分）が切れています" in html


def test_a_key_whose_answer_was_lost_dies_with_a_resend(make_jobseeker, settings, clock):
    make_jobseeker(email="resent@example.jp")
    journey = Journey()
    journey.start("resent@example.jp")
    with LosesTheAnswer(times=1) as sink:
        settings.EMAIL_PORT = sink.port
        mail_deliver_due()  # the owner has the first key; the mail waits for its retry
        clock.advance(seconds=settings.FLOW_RESEND_COOLDOWN_SECONDS + 1)
        journey.resend()
        statuses = list(OutboundMail.objects.order_by("id").values_list("status", flat=True))
        assert statuses == ["superseded", "queued"]
        first_key = key_from(sink.messages[0])
        html = journey.complete(first_key).content.decode()
        assert "認証キーが正しくありません" in html
        mail_deliver_due()
    assert len(sink.messages) == 2  # the superseded mail was not sent again
    assert journey.complete(key_from(sink.messages[-1])).url == reverse("registration:done")


@pytest.mark.parametrize(
    ("status", "handed_over", "completes"),
    [
        ("sending", False, True),  # SMTP has it, the answer is on its way
        ("sent", True, True),
        ("queued", True, True),  # the answer was lost; a retry is due
        ("failed", True, True),  # retries ran out, but an answer was lost on the way
        ("queued", False, False),  # SMTP was down: nobody has been sent the key
        ("failed", False, False),
        ("capped", False, False),
        ("suppressed", False, False),
        ("superseded", True, False),
    ],
)
def test_which_key_mails_let_the_right_key_complete(
    make_jobseeker, smtp_server, clock, status, handed_over, completes
):
    make_jobseeker(email="rule@example.jp")
    journey = Journey()
    journey.start("rule@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("rule@example.jp")[-1])
    OutboundMail.objects.filter(to="rule@example.jp").update(
        status=status, handed_over_at=clock.now() if handed_over else None
    )
    response = journey.complete(key)
    flow = RegistrationFlow.objects.get()
    if completes:
        assert response.url == reverse("registration:done")
    else:
        assert "認証キーが正しくありません" in response.content.decode()
        assert flow.wrong_keys == 1
