"""GET /events: where events come from, paging, retention, and no event skipped when
transactions commit out of order (PostgreSQL)."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from portal.accounts.services.lockout import login_failure_record, login_lock_clear
from portal.audit.feed import feed_event_record, feed_events_purge
from portal.audit.models import FeedEvent
from portal.core.origin import RequestOrigin
from portal.counter.services import jobseeker_change_email
from portal.mail.models import OutboundMail
from portal.mail.services import mail_deliver_due, mail_queue
from tests.registration.journey import Journey, deliver_mail, key_from

from .conftest import SEEKER

# A reader sees only events of finished transactions (portal.audit.feed): each test commits.
pytestmark = pytest.mark.django_db(transaction=True)


def read_all(api, after=None, limit=2):
    """Pages through the feed; returns (events, last cursor)."""
    events = []
    while True:
        query = {"limit": limit, **({"after": after} if after else {})}
        page = api.get("/events", data=query).json()
        events += page["events"]
        if not page["events"]:
            return events, page["next"]
        after = page["next"]


def types(events):
    return [(e["number"], e["type"]) for e in events]


def test_registration_completion_is_account_opened(api, make_jobseeker, smtp_server):
    make_jobseeker(number="13010-00000001", email="taro@example.jp")
    journey = Journey()
    journey.start("taro@example.jp")
    deliver_mail()
    journey.complete(key_from(smtp_server.to("taro@example.jp")[0]))
    events, _cursor = read_all(api)
    assert types(events) == [("13010-00000001", "account_opened")]
    assert set(events[0]) == {"cursor", "number", "type", "time"}


def test_lock_unlock_address_close_reopen(api, make_account, settings, smtp_server):
    settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP = 2
    seeker = make_account(number="13010-00000001", email="taro@example.jp")
    for _ in range(3):  # the third attempt meets the lock: no second event
        login_failure_record(
            "taro@example.jp", origin=RequestOrigin(ip="192.0.2.1"), user=seeker.user
        )
    login_lock_clear(seeker.user)
    login_lock_clear(seeker.user)  # nothing to lift: no event
    jobseeker_change_email(seeker, "jiro@example.jp", actor_label="test")
    api.post("/jobseekers/13010-00000001/close")
    api.post("/jobseekers/13010-00000001/reopen")
    events, _cursor = read_all(api)
    assert [t for _n, t in types(events)] == [
        "account_locked",
        "account_unlocked",
        "address_changed",
        "closed",
        "reopened",
    ]


def test_a_pending_address_changed_by_the_register_is_an_event(api):
    api.put("/jobseekers/13010-00000001", SEEKER)
    api.put("/jobseekers/13010-00000001", {**SEEKER, "office": "渋谷"})
    api.post(
        "/jobseekers/batch",
        {"rows": [{**SEEKER, "number": "13010-00000001", "email": "new@example.jp"}]},
    )
    events, _cursor = read_all(api)
    assert types(events) == [("13010-00000001", "address_changed")]


def test_a_mail_refused_or_given_up_is_mail_failed(api, make_jobseeker, settings):
    """Refused: a real SMTP server answering 550 to RCPT; given up: nothing listening."""
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 no such user"

    make_jobseeker(number="13010-00000001", email="taro@example.jp")
    make_jobseeker(number="13010-00000002", email="hanako@example.jp")
    port = free_port()
    refusing = Controller(Refusing(), hostname="127.0.0.1", port=port)
    refusing.start()
    try:
        settings.EMAIL_PORT = port
        mail_queue(to="taro@example.jp", kind="identity_mismatch", context={})
        mail_deliver_due()
    finally:
        refusing.stop()
    settings.MAIL_MAX_ATTEMPTS = 1
    settings.EMAIL_PORT = free_port()  # nothing listens: given up after its only attempt
    mail_queue(to="hanako@example.jp", kind="identity_mismatch", context={})
    OutboundMail.objects.filter(to="hanako@example.jp").update(
        next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    mail_deliver_due()
    events, _cursor = read_all(api)
    assert sorted(types(events)) == [
        ("13010-00000001", "mail_failed"),
        ("13010-00000002", "mail_failed"),
    ]


def test_paging_gives_each_event_once_and_then_waits(api):
    for n in range(1, 6):
        feed_event_record("closed", number=f"13010-{n:08d}")
    events, cursor = read_all(api, limit=2)
    assert [e["number"] for e in events] == [f"13010-{n:08d}" for n in range(1, 6)]
    feed_event_record("reopened", number="13010-00000009")
    more, _cursor = read_all(api, after=cursor)
    assert types(more) == [("13010-00000009", "reopened")]


def test_a_cursor_older_than_the_retention_is_410(api, clock, settings):
    feed_event_record("closed", number="13010-00000001")
    _first, cursor = read_all(api)
    clock.advance(minutes=60 * 24 * (settings.API_FEED_RETENTION_DAYS + 1))
    feed_event_record("reopened", number="13010-00000001")
    assert feed_events_purge(now=clock.now(), days=settings.API_FEED_RETENTION_DAYS) == 1
    response = api.get("/events", data={"after": cursor})
    assert response.status_code == 410
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:mypage:api:problem:cursor-expired"
    again, _cursor = read_all(api)
    assert types(again) == [("13010-00000001", "reopened")]


@pytest.mark.parametrize("after", ["abc", "1", "1.x", "-1.2", "1.2.3"])
def test_a_malformed_cursor_is_422(api, after):
    assert api.get("/events", data={"after": after}).status_code == 422


def test_read_scope_needed(api_as):
    assert api_as("register:write").get("/events").status_code == 403


@pytest.mark.skipif(connection.vendor != "postgresql", reason="transaction ids are PostgreSQL's")
def test_events_committing_out_of_order_are_each_read_exactly_once(client, make_token):
    """Transaction A writes its event first (smaller id) but commits last; B writes later and
    commits first. A reader paging in between must not step past A's event."""
    from .conftest import Api

    api = Api(client, make_token().plaintext)
    a_wrote, b_committed, a_may_commit = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def transaction_a():
        try:
            with transaction.atomic():
                feed_event_record("closed", number="13010-00000001")
                a_wrote.set()
                assert a_may_commit.wait(30)
        except BaseException as exc:  # noqa: BLE001 - raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    def transaction_b():
        try:
            assert a_wrote.wait(30)
            with transaction.atomic():
                feed_event_record("reopened", number="13010-00000002")
            b_committed.set()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=transaction_a), threading.Thread(target=transaction_b)]
    for thread in threads:
        thread.start()
    assert b_committed.wait(30)
    ids = dict(FeedEvent.objects.values_list("number", "id"))
    assert list(ids) == ["13010-00000002"]  # only B is committed so far
    seen, cursor = read_all(api)
    # B's event is committed but waits behind A's running transaction: a reader that took it
    # now would step past A's smaller id.
    assert seen == []
    a_may_commit.set()
    for thread in threads:
        thread.join(30)
    assert not errors
    ids = dict(FeedEvent.objects.values_list("number", "id"))
    assert ids["13010-00000001"] < ids["13010-00000002"]  # the ids are out of commit order
    more, _cursor = read_all(api, after=cursor)
    seen += more
    assert sorted(types(seen)) == [("13010-00000001", "closed"), ("13010-00000002", "reopened")]
    assert len(seen) == 2


def test_the_daily_purge_drops_old_events_and_idempotency_keys(api, clock, settings):
    from django.core.management import call_command

    from portal.api.models import IdempotencyRecord

    feed_event_record("closed", number="13010-00000001")
    api.post("/jobseekers/13010-00000001/close", headers={"Idempotency-Key": "k"})
    assert IdempotencyRecord.objects.count() == 1
    clock.advance(minutes=60 * 24 * (settings.API_FEED_RETENTION_DAYS + 1))
    call_command("purge")
    assert not FeedEvent.objects.exists()
    assert not IdempotencyRecord.objects.exists()
