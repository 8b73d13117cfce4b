"""The long-running worker (`deliver_mail` without --once): its heartbeat, the takeover of a
dead worker's mails, and what it does when the database goes away, against a real SMTP server.
The database's loss is simulated here by raising; tests/ops/test_mail_worker_outage_postgres.py
cuts a real connection."""

import datetime as dt
import logging
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from portal.mail import services as mail_services
from portal.mail.management.commands import deliver_mail
from portal.mail.models import MailAttempt, MailWorker, OutboundMail
from portal.mail.services import DeliveryReport, mail_queue
from portal.mail.worker import DeliveryWorker

pytestmark = pytest.mark.django_db(transaction=True)


def _queue(to: str) -> OutboundMail:
    return mail_queue(to=to, kind="identity_mismatch", context={"reference": "ABCD-EFGH"})


def _started_worker() -> DeliveryWorker:
    """A registered worker whose heartbeat the test writes itself (no thread)."""
    worker = DeliveryWorker(heartbeat_thread=False)
    assert worker.deliver_due().handled == 0  # registers; nothing is queued yet
    return worker


def _silence(worker: DeliveryWorker, seconds: float) -> None:
    MailWorker.objects.filter(pk=worker.row.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=seconds)
    )


def test_a_dead_workers_mails_are_taken_over_without_waiting_out_their_lease(smtp_server, settings):
    settings.MAIL_LEASE_SECONDS = 600
    settings.MAIL_WORKER_HEARTBEAT_SECONDS = 5
    dead = _started_worker()
    mails = [_queue(f"held{n}@example.jp") for n in range(3)]
    held = mail_services._claim(10, dead.row)  # it holds a batch, then stops beating
    assert {m.pk for m in held} == {m.pk for m in mails}

    other = _started_worker()
    _silence(dead, 14)  # under three heartbeats: still alive
    assert other.deliver_due().handled == 0
    assert smtp_server.messages == []

    _silence(dead, 16)  # three heartbeats missed: dead, its leases with it
    assert other.deliver_due().sent == 3
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(m.to for m in mails)
    lease_held_until = {m.pk: m.lease_until for m in held}
    for mail in OutboundMail.objects.filter(pk__in=[m.pk for m in mails]):
        assert (mail.status, mail.worker, mail.attempts) == ("sent", None, 2)
        assert mail.sent_at < lease_held_until[mail.pk]  # its lease had not run out

    # The next worker to start removes the dead one's row: it holds nothing any more.
    _started_worker()
    assert not MailWorker.objects.filter(pk=dead.row.pk).exists()


def test_a_live_workers_leases_hold_while_it_beats(smtp_server):
    holder = _started_worker()
    _queue("held@example.jp")
    [mail] = mail_services._claim(10, holder.row)
    holder.beat()
    assert _started_worker().deliver_due().handled == 0
    mail.refresh_from_db()
    assert (mail.status, mail.worker_id) == ("sending", holder.row.pk)


def test_an_accepted_mail_the_database_could_not_record_is_recorded_when_it_is_back(
    smtp_server, monkeypatch
):
    worker = _started_worker()
    mails = [_queue(f"cut{n}@example.jp") for n in range(3)]
    real_record_sent = mail_services._record_sent
    calls = []

    def database_gone_once(mail, started, sent_at=None):
        calls.append(mail.to)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_record_sent(mail, started, sent_at)

    monkeypatch.setattr(mail_services, "_record_sent", database_gone_once)
    with pytest.raises(OperationalError):
        worker.deliver_due()
    # SMTP took the first mail; the batch ended there: nothing else went out.
    assert [m["To"] for m in smtp_server.messages] == ["cut0@example.jp"]
    assert worker.unrecorded is not None
    first = OutboundMail.objects.get(pk=mails[0].pk)
    assert first.status == "sending"  # a right key for it already works (the key rule)

    report = worker.deliver_due()  # the database answers again
    assert report.sent == 2
    recipients = Counter(m["To"] for m in smtp_server.messages)
    assert recipients == {m.to: 1 for m in mails}  # every mail once, the first one too
    first.refresh_from_db()
    [attempt] = first.attempt_log.all()
    assert first.status == "sent" and attempt.ok
    assert first.handed_over_at == attempt.attempted_at
    # The mails given back after the loss were never tried: one attempt each, not two.
    assert list(OutboundMail.objects.order_by("pk").values_list("attempts", flat=True)) == [1] * 3
    assert worker.unrecorded is None


def test_a_failure_the_database_could_not_record_is_recorded_when_it_is_back(settings):
    from tests.mail.sinks import LosesTheAnswer

    worker = _started_worker()
    mail = _queue("lost@example.jp")
    real_record_failure = mail_services._record_failure
    calls = []

    def database_gone_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise InterfaceError("connection already closed")
        return real_record_failure(*args, **kwargs)

    with LosesTheAnswer() as sink, pytest.MonkeyPatch.context() as patch:
        settings.EMAIL_PORT = sink.port
        patch.setattr(mail_services, "_record_failure", database_gone_once)
        with pytest.raises(InterfaceError):
            worker.deliver_due()
        worker.deliver_due()
    mail.refresh_from_db()
    [attempt] = mail.attempt_log.all()
    # A lost answer: queued for its retry, counted as handed over (its key works).
    assert (mail.status, mail.worker, attempt.ok) == ("queued", None, False)
    assert mail.handed_over_at == attempt.attempted_at


def test_a_claim_whose_answer_was_lost_is_given_back_when_the_database_is_back(
    smtp_server, monkeypatch
):
    worker = _started_worker()
    mails = [_queue(f"batch{n}@example.jp") for n in range(4)]
    real_claim = mail_services._claim

    def claim_then_lose_the_connection(batch_size, row=None):
        real_claim(batch_size, row)  # written; its answer never reaches the worker
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mail_services, "_claim", claim_then_lose_the_connection)
        with pytest.raises(OperationalError):
            worker.deliver_due()
    assert set(OutboundMail.objects.values_list("status", "worker")) == {("sending", worker.row.pk)}
    assert worker.deliver_due().sent == 4
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(m.to for m in mails)
    assert set(OutboundMail.objects.values_list("attempts", flat=True)) == {1}


def test_a_clean_stop_gives_back_what_the_worker_holds_and_removes_its_row(smtp_server):
    worker = _started_worker()
    _queue("left@example.jp")
    mail_services._claim(10, worker.row)
    worker.stop()
    assert not MailWorker.objects.exists()
    mail = OutboundMail.objects.get()
    assert (mail.status, mail.worker, mail.lease_until, mail.attempts) == ("queued", None, None, 0)
    worker.beat()  # a heartbeat after leaving writes nothing
    assert not MailWorker.objects.exists()


def test_a_worker_removed_while_it_could_not_reach_the_database_comes_back_on_its_heartbeat():
    worker = _started_worker()
    MailWorker.objects.filter(pk=worker.row.pk).delete()
    worker.beat()
    assert MailWorker.objects.filter(pk=worker.row.pk).exists()


def test_the_worker_waits_out_database_errors_with_back_off_and_carries_on(monkeypatch, caplog):
    outcomes = [
        OperationalError("could not connect to server"),
        OperationalError("could not connect to server"),
        InterfaceError("connection already closed"),
        DeliveryReport(sent=2),
    ]
    command = deliver_mail.Command()

    def deliver_due(self, *, should_stop):
        outcome = outcomes.pop(0) if outcomes else DeliveryReport()
        if not outcomes:
            command.stopping = True  # SIGTERM after the last outcome
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    sleeps = []
    monkeypatch.setattr(DeliveryWorker, "deliver_due", deliver_due)
    monkeypatch.setattr(command, "_sleep", sleeps.append)
    monkeypatch.setattr(deliver_mail.signal, "signal", lambda *args: None)
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        command.handle(batch_size=10, idle_sleep=0.5)
    assert sleeps == [1, 2, 4]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "mail worker cannot reach the database; trying again"
    ] * 3
    assert [r.retry_in_seconds for r in errors] == [1, 2, 4]
    assert "mail worker stopped" in caplog.text


def test_other_errors_end_the_worker_as_before(monkeypatch):
    def deliver_due(self, *, should_stop):
        raise RuntimeError("a bug")

    monkeypatch.setattr(DeliveryWorker, "deliver_due", deliver_due)
    monkeypatch.setattr(deliver_mail.signal, "signal", lambda *args: None)
    with pytest.raises(RuntimeError, match="a bug"):
        deliver_mail.Command().handle(batch_size=10, idle_sleep=0.5)


def test_the_back_off_doubles_from_one_second_to_thirty():
    delays = deliver_mail.database_retry_delays()
    assert [next(delays) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_once_drains_with_plain_leases_and_no_worker_row(smtp_server):
    _queue("once@example.jp")
    call_command("deliver_mail", "--once")
    assert [m["To"] for m in smtp_server.messages] == ["once@example.jp"]
    assert not MailWorker.objects.exists()
    assert MailAttempt.objects.get().ok
