"""`manage.py purge`: what each retention setting keeps and removes."""

import datetime as dt
import io

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

from portal.audit.models import AuditEvent
from portal.audit.services import audit_event_record
from portal.core.origin import RequestOrigin
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue
from portal.ops.models import PurgedFlowCount
from portal.registration import services
from portal.registration.flow import EndReason, Purpose, Stage
from portal.registration.models import RegistrationFlow
from portal.registration.terms import terms_versions

pytestmark = pytest.mark.django_db


def purge(*args) -> str:
    out = io.StringIO()
    call_command("purge", *args, stdout=out)
    return out.getvalue()


def _flow(stage=Stage.TERMS_AGREED, reason=""):
    flow = services.flow_start(Purpose.REGISTER, **terms_versions())
    RegistrationFlow.objects.filter(pk=flow.pk).update(stage=stage, ended_reason=reason)
    return flow.pk


def test_finished_flows_go_after_their_retention(settings, clock):
    settings.RETENTION_FLOWS_DAYS = 30
    old_completed = _flow(Stage.COMPLETED)
    old_ended = _flow(Stage.ENDED, EndReason.TOO_MANY_WRONG_KEYS)
    old_abandoned = _flow(Stage.KEY_SENT)  # never finished; its 2 hours ran out long ago
    clock.advance(days=31)
    recent_ended = _flow(Stage.ENDED, EndReason.EXPIRED)
    open_now = _flow(Stage.TERMS_AGREED)

    assert "flows=3" in purge()
    left = set(RegistrationFlow.objects.values_list("pk", flat=True))
    assert left == {recent_ended, open_now}
    assert not left & {old_completed, old_ended, old_abandoned}
    tallies = {
        (t.stage, t.ended_reason, t.abandoned): t.count for t in PurgedFlowCount.objects.all()
    }
    assert tallies == {
        ("completed", "", False): 1,
        ("ended", "too_many_wrong_keys", False): 1,
        ("key_sent", "", True): 1,
    }
    assert "flows=0" in purge()  # idempotent
    assert PurgedFlowCount.objects.get(stage="completed").count == 1


def test_purge_in_small_batches_removes_everything_due(settings, clock):
    for _ in range(7):
        _flow(Stage.ENDED, EndReason.EXPIRED)
    clock.advance(days=settings.RETENTION_FLOWS_DAYS + 1)
    assert "flows=7" in purge("--batch-size", "3")
    assert PurgedFlowCount.objects.get().count == 7


def test_delivered_mail_bodies_are_blanked_queued_ones_kept(settings, clock, smtp_server):
    settings.RETENTION_MAIL_BODIES_DAYS = 7
    sent = mail_queue(to="a@example.jp", kind="registration_completed", context={"name": "x"})
    capped = mail_queue(
        to="b@example.jp", kind="registration_key", context={"reference": "AAAA-BBBB"},
        secret="12345678", secret_valid_minutes=50,
    )  # fmt: skip
    OutboundMail.objects.filter(pk=capped.pk).update(status=OutboundMail.Status.CAPPED)
    call_command("deliver_mail", "--once")
    clock.advance(days=8)
    waiting = mail_queue(to="c@example.jp", kind="registration_completed", context={"name": "y"})

    assert "mail_bodies=2" in purge()
    sent.refresh_from_db()
    capped.refresh_from_db()
    waiting.refresh_from_db()
    assert sent.status == OutboundMail.Status.SENT and sent.body == ""
    assert sent.subject  # the subject never holds a secret; it stays for the staff's view
    assert capped.body == "" and capped.secret_sealed is None
    assert waiting.body != ""


def test_old_audit_events_go(settings, clock):
    settings.RETENTION_AUDIT_EVENTS_DAYS = 365
    audit_event_record("test.old")
    clock.advance(days=366)
    audit_event_record("test.new")
    assert "audit_events=1" in purge()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.new"]


def test_expired_database_sessions_and_cache_rows_go(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
        }
    }
    call_command("createcachetable")  # absent when the suite runs with REDIS_URL
    live = SessionStore()
    live["x"] = 1
    live.create()
    gone = SessionStore()
    gone["x"] = 1
    gone.create()
    Session.objects.filter(session_key=gone.session_key).update(
        expire_date=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    cache.set("keep", 1, timeout=3600)
    cache.set("stale", 1, timeout=3600)
    with connection.cursor() as cursor:
        table = connection.ops.quote_name("portal_cache")
        cursor.execute(
            f"UPDATE {table} SET expires = %s WHERE cache_key LIKE %s",  # noqa: S608
            [connection.ops.adapt_datetimefield_value(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)),
             "%stale"],
        )  # fmt: skip

    output = purge()
    assert "sessions=1" in output and "cache_entries=1" in output
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert cache.get("keep") == 1


def test_dry_run_changes_nothing_and_zero_keeps_forever(settings, clock):
    _flow(Stage.COMPLETED)
    audit_event_record("test.old")
    clock.advance(days=5000)
    output = purge("--dry-run")
    assert output.startswith("would purge: flows=1") and "audit_events=" in output
    assert RegistrationFlow.objects.count() == 1

    settings.RETENTION_FLOWS_DAYS = 0
    settings.RETENTION_AUDIT_EVENTS_DAYS = 0
    assert "flows=0" in purge() and "audit_events=0" in purge()
    assert RegistrationFlow.objects.count() == 1
    assert AuditEvent.objects.filter(action="test.old").exists()


def test_login_records_go_when_nothing_can_use_them(settings, clock):
    from django.contrib.auth import get_user_model

    from portal.accounts.models import LoginChallenge, LoginEvent, TrustedBrowser, UserSession
    from portal.accounts.services.trusted_browsers import trusted_browser_create

    settings.RETENTION_LOGIN_EVENTS_DAYS = 365
    user = get_user_model().objects.create_user("rec@example.jp", "Rec#pass1234")
    now = clock.now()
    LoginChallenge.objects.create(user=user, code_hash="x", expires_at=now)
    trusted_browser_create(user)
    UserSession.objects.create(user=user, session_key="old-session")
    LoginEvent.objects.create(user=user, login_key="k", outcome=LoginEvent.Outcome.SUCCESS)
    clock.advance(days=366)
    kept_challenge = LoginChallenge.objects.create(user=user, code_hash="y", expires_at=clock.now())
    kept_event = LoginEvent.objects.create(
        user=user, login_key="k", outcome=LoginEvent.Outcome.SUCCESS
    )
    assert "login_records=4" in purge("--dry-run")
    assert "login_records=4" in purge()
    assert list(LoginChallenge.objects.all()) == [kept_challenge]
    assert list(LoginEvent.objects.all()) == [kept_event]
    assert not TrustedBrowser.objects.exists() and not UserSession.objects.exists()
    assert "login_records=0" in purge()


def test_idle_failure_counters_go_unless_they_hold_a_lock(settings, clock):
    from portal.accounts.models import LoginThrottle
    from portal.accounts.services.lockout import login_failure_record

    settings.LOGIN_FAILURE_WINDOW_MINUTES = 60
    settings.LOGIN_LOCK_MINUTES = 120
    login_failure_record("idle@example.jp", origin=RequestOrigin(ip="10.0.0.1"))
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP):
        login_failure_record("locked@example.jp", origin=RequestOrigin(ip="10.0.0.2"))
    clock.advance(minutes=61)
    login_failure_record("recent@example.jp", origin=RequestOrigin(ip="10.0.0.3"))

    def left():
        return sorted((row.ip, row.scope) for row in LoginThrottle.objects.all())

    everything = left()
    # idle@: both counters; locked@: the account-wide one, which holds no lock.
    assert "login_records=3" in purge("--dry-run") and left() == everything
    assert "login_records=3" in purge()
    assert left() == [("", "account"), ("10.0.0.2", "pair"), ("10.0.0.3", "pair")]
    clock.advance(minutes=60)  # the lock has run out
    assert "login_records=1" in purge()
    assert left() == [("", "account"), ("10.0.0.3", "pair")]


def test_tracked_sessions_go_when_their_session_has_ended_whatever_their_age(settings, clock):
    """A session lives as long as it is used: an old one still in use stays tracked (so that a
    password change can still end it), an ended one is forgotten."""
    from django.contrib.auth import get_user_model

    from portal.accounts.models import UserSession
    from portal.accounts.selectors import session_store

    user = get_user_model().objects.create_user("tracked@example.jp", "Rec#pass1234")
    live = session_store()()
    live["x"] = 1
    live.create()
    UserSession.objects.create(user=user, session_key=live.session_key)
    UserSession.objects.create(user=user, session_key="ended-elsewhere")
    clock.advance(seconds=settings.SESSION_COOKIE_AGE * 2)
    assert "login_records=1" in purge("--dry-run")
    assert "login_records=1" in purge()
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [live.session_key]
    live.delete()


def test_a_row_moved_to_a_new_key_while_purge_looked_is_kept(settings, monkeypatch):
    """A password change cycles the session key (the old one ends) and moves the tracked row
    to the new one; a purge that saw the old key ended must not forget the moved row."""
    from django.contrib.auth import get_user_model

    from portal.accounts.models import UserSession
    from portal.accounts.selectors import session_store
    from portal.accounts.services.sessions import user_session_rekey, user_sessions_end
    from portal.ops import services as ops_services

    user = get_user_model().objects.create_user("rekeyed@example.jp", "Rec#pass1234")
    session = session_store()()
    session["x"] = 1
    session.create()
    UserSession.objects.create(user=user, session_key=session.session_key)
    real = ops_services._ended_sessions

    def password_changed_meanwhile(tracked, batch_size):
        old = session.session_key
        session.cycle_key()  # the old key ends here...
        found = real(tracked, batch_size)
        user_session_rekey(old, session.session_key)  # ...and the row moves to the new one
        return found

    monkeypatch.setattr(ops_services, "_ended_sessions", password_changed_meanwhile)
    assert "login_records=0" in purge()
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [session.session_key]
    assert user_sessions_end(user) == 1  # still ends the live session
    assert not session_store()().exists(session.session_key)
