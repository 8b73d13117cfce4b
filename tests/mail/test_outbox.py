"""The outbox and its worker against a real SMTP server."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from portal.mail.models import MailAttempt, OutboundMail
from portal.mail.services import mail_deliver_due, mail_queue
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db


def _queue(to="a@example.jp", **kwargs):
    return mail_queue(to=to, kind="identity_mismatch", context={"reference": "ABCD-EFGH"}, **kwargs)


def test_queued_mail_is_sent_once_with_its_attempt_recorded(smtp_server, settings):
    settings.MAIL_SENDER = "system@mail.office.example.jp"
    mail = _queue()
    call_command("deliver_mail", "--once")
    call_command("deliver_mail", "--once")
    [received] = smtp_server.messages
    assert received["From"] == "system@mail.office.example.jp"
    assert "ABCD-EFGH" in received.get_content()
    mail.refresh_from_db()
    assert mail.status == "sent" and mail.sent_at is not None
    assert list(MailAttempt.objects.values_list("ok", flat=True)) == [True]


def test_mail_rolled_back_with_its_transaction_is_never_sent(smtp_server):
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue()
        raise RuntimeError("the business change failed")
    call_command("deliver_mail", "--once")
    assert smtp_server.messages == []


def test_retries_back_off_and_give_up_after_the_bound(settings, clock):
    settings.EMAIL_PORT = 1  # nothing listens there
    settings.MAIL_MAX_ATTEMPTS = 3
    settings.MAIL_RETRY_BASE_SECONDS = 30
    mail = _queue()
    mail_deliver_due()
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == ("queued", 1)
    assert (mail.next_attempt_at - clock.now()).total_seconds() == 30
    assert mail_deliver_due().handled == 0  # not due yet
    clock.advance(seconds=30)
    mail_deliver_due()
    mail.refresh_from_db()
    assert (mail.next_attempt_at - clock.now()).total_seconds() == 60
    clock.advance(seconds=60)
    mail_deliver_due()
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == ("failed", 3)
    assert "ConnectionRefusedError" in mail.last_error
    assert MailAttempt.objects.filter(mail=mail, ok=False).count() == 3


def test_a_worker_that_died_leaves_a_lease_that_runs_out(smtp_server, clock, settings):
    mail = _queue()
    OutboundMail.objects.filter(pk=mail.pk).update(
        status="sending", lease_until=clock.now(), attempts=1
    )
    assert mail_deliver_due().handled == 0  # lease still held
    clock.advance(seconds=1)
    assert mail_deliver_due().sent == 1
    assert len(smtp_server.messages) == 1


def test_suppressed_and_capped_rows_are_never_sent(smtp_server, settings):
    settings.MAILS_PER_ADDRESS_PER_DAY = 1
    _queue(to="x@example.jp", deliver=False)
    capped = _queue(to="x@example.jp")
    assert capped.status == "capped"
    call_command("deliver_mail", "--once")
    assert smtp_server.messages == []


def test_secret_never_in_subject(db, monkeypatch):
    from portal.mail import services

    monkeypatch.setattr(services, "mail_render", lambda kind, ctx: (f"key {ctx['secret']}", "b"))
    with pytest.raises(ValueError, match="subject"):
        mail_queue(to="a@example.jp", kind="registration_key", secret="12345678")
    assert not OutboundMail.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
def test_several_workers_never_send_one_mail_twice(smtp_server):
    for n in range(60):
        _queue(to=f"w{n}@example.jp")

    def worker():
        while mail_deliver_due(batch_size=5).handled:
            pass

    run_at_once([worker] * 4)
    recipients = [m["To"] for m in smtp_server.messages]
    assert len(recipients) == 60 and len(set(recipients)) == 60
    assert OutboundMail.objects.filter(status="sent").count() == 60


def test_a_long_batch_renews_the_lease_of_the_mails_it_reaches_late(
    smtp_server, clock, settings, monkeypatch
):
    from portal.mail import services as mail_services

    settings.MAIL_LEASE_SECONDS = 100
    _queue(to="first@example.jp")
    second = _queue(to="second@example.jp")
    taken_by_another_worker = []
    real_message = mail_services._message

    def slow_message(mail, now):
        if mail.pk == second.pk:
            # The claim's lease has run out by now: only a renewed one keeps this mail.
            clock.advance(seconds=61)
            taken_by_another_worker.extend(mail_services._claim(10))
        clock.advance(seconds=61)  # a slow SMTP server
        return real_message(mail, now)

    renewed = []
    real_renew = mail_services._renew_lease

    def renew(mail):
        renewed.append(mail.pk)
        return real_renew(mail)

    monkeypatch.setattr(mail_services, "_message", slow_message)
    monkeypatch.setattr(mail_services, "_renew_lease", renew)
    assert mail_deliver_due().sent == 2
    assert taken_by_another_worker == []
    assert {m["To"] for m in smtp_server.messages} == {"first@example.jp", "second@example.jp"}
    # The first mail went out on the claim's lease; only the second one's was renewed.
    assert renewed == [second.pk]


def test_each_mail_is_recorded_with_its_attempt_before_the_next_is_sent(smtp_server, clock):
    from portal.mail import services as mail_services

    mails = [_queue(to=f"each{n}@example.jp") for n in range(3)]
    seen_before_each_send = []
    real_message = mail_services._message

    def timed_message(mail, now):
        seen_before_each_send.append(
            [
                (m.status, m.sent_at, m.attempt_log.filter(ok=True).count())
                for m in OutboundMail.objects.filter(pk__in=[m.pk for m in mails]).order_by("pk")
            ]
        )
        clock.advance(seconds=0.1)  # each send a moment after the last
        return real_message(mail, now)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mail_services, "_message", timed_message)
        assert mail_deliver_due().sent == 3
    stored = list(OutboundMail.objects.filter(pk__in=[m.pk for m in mails]).order_by("pk"))
    recorded = [(m.status, m.sent_at, 1) for m in stored]
    pending = ("sending", None, 0)
    assert seen_before_each_send == [
        [pending, pending, pending],
        [recorded[0], pending, pending],
        [recorded[0], recorded[1], pending],
    ]
    assert len({m.sent_at for m in stored}) == 3  # each with its own time


def test_a_lost_answer_is_recorded_as_a_hand_over_and_retried(settings, clock):
    from tests.mail.sinks import LosesTheAnswer

    mail = _queue(to="lost@example.jp")
    with LosesTheAnswer() as sink:
        settings.EMAIL_PORT = sink.port
        report = mail_deliver_due()
        assert (report.sent, report.retried) == (0, 1)
        mail.refresh_from_db()
        assert (mail.status, mail.handed_over_at) == ("queued", clock.now())
        clock.advance(seconds=settings.MAIL_RETRY_BASE_SECONDS)
        assert mail_deliver_due().sent == 1
    assert [m["To"] for m in sink.messages] == ["lost@example.jp"] * 2  # once per lost answer
    mail.refresh_from_db()
    assert mail.status == "sent" and mail.handed_over_at < mail.sent_at
    assert list(mail.attempt_log.order_by("id").values_list("ok", flat=True)) == [False, True]


def test_a_refused_or_unreachable_mail_was_not_handed_over(settings):
    from tests.mail.sinks import RefusesRecipients

    refused = _queue(to="refused@example.jp")
    with RefusesRecipients() as sink:
        settings.EMAIL_PORT = sink.port
        mail_deliver_due()
    settings.EMAIL_PORT = 1  # nothing listens there
    unreachable = _queue(to="down@example.jp")
    mail_deliver_due()
    refused.refresh_from_db()
    unreachable.refresh_from_db()
    assert "SMTPRecipientsRefused" in refused.last_error
    assert "ConnectionRefusedError" in unreachable.last_error
    assert (refused.status, refused.handed_over_at) == ("queued", None)
    assert (unreachable.status, unreachable.handed_over_at) == ("queued", None)


def test_a_worker_that_lost_its_lease_does_not_record_over_the_one_that_took_over(
    smtp_server, clock, settings
):
    from portal.mail import services as mail_services

    settings.MAIL_LEASE_SECONDS = 60
    mail = _queue(to="taken@example.jp")
    [claimed_by_a] = mail_services._claim(10)  # worker A claims, then stalls mid-send
    clock.advance(seconds=61)
    assert mail_deliver_due().sent == 1  # worker B takes over, sends and records
    taken_over = OutboundMail.objects.get(pk=mail.pk)
    clock.advance(seconds=5)
    mail_services._record_sent(claimed_by_a, clock.now())  # A's 250 comes in at last
    stored = OutboundMail.objects.get(pk=mail.pk)
    assert (stored.status, stored.sent_at, stored.handed_over_at, stored.last_error) == (
        "sent",
        taken_over.sent_at,
        taken_over.handed_over_at,
        "",
    )
    assert mail.attempt_log.count() == 2  # every attempt is logged, whoever recorded the mail


def test_run_out_leases_are_looked_for_when_idle_or_every_30_seconds(smtp_server, clock):
    from portal.mail import services as mail_services

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mail_services, "_expired_leases_looked_at", None)
        stale = _queue(to="stale@example.jp")
        OutboundMail.objects.filter(pk=stale.pk).update(
            status="sending", lease_until=clock.now(), attempts=1
        )
        clock.advance(seconds=1)
        _queue(to="due1@example.jp")
        assert {m.to for m in mail_services._claim(10)} == {"due1@example.jp", "stale@example.jp"}
        stale2 = _queue(to="stale2@example.jp")
        OutboundMail.objects.filter(pk=stale2.pk).update(
            status="sending", lease_until=clock.now(), attempts=1
        )
        clock.advance(seconds=1)
        _queue(to="due2@example.jp")
        # Mails are due and the run-out leases were looked at a second ago: not now.
        assert [m.to for m in mail_services._claim(10)] == ["due2@example.jp"]
        clock.advance(seconds=30)
        _queue(to="due3@example.jp")
        assert {m.to for m in mail_services._claim(10)} == {"due3@example.jp", "stale2@example.jp"}
