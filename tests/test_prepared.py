"""PreparedGet returns what QuerySet.get() returns, in one query, on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import FilteredRelation, Q
from django.test.utils import CaptureQueriesContext

from portal.accounts.models import LoginChallenge
from portal.core.prepared import PreparedGet
from portal.jobseekers.models import JobSeeker
from portal.registration.flow import Purpose
from portal.registration.models import RegistrationFlow
from portal.registration.services import flow_start
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def user_with_jobseeker(make_jobseeker):
    seeker = make_jobseeker(email="prepared@example.jp")
    user = get_user_model().objects.create_user(seeker.email, "Prepared#2026")
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)
    return user


def test_an_instance_with_select_related_equals_the_orms_in_one_query(user_with_jobseeker):
    prepared = PreparedGet(get_user_model().objects.select_related("jobseeker"), "pk")
    expected = get_user_model().objects.select_related("jobseeker").get(pk=user_with_jobseeker.pk)
    prepared.get(pk=user_with_jobseeker.pk)  # compiled on first use
    with CaptureQueriesContext(connection) as queries:
        user = prepared.get(pk=user_with_jobseeker.pk)
        assert user.jobseeker.user is user  # both directions cached, no query
        assert user.jobseeker.name == "山田太郎"
    assert len(queries) == 1
    assert type(user) is type(expected)
    assert _fields(user) == _fields(expected)
    assert _fields(user.jobseeker) == _fields(expected.jobseeker)
    assert isinstance(user.date_joined, dt.datetime) and user.date_joined.tzinfo is not None
    assert user._state.adding is False and user._state.db == "default"
    # The instance is a normal one: it saves.
    user.display_name = "やまだ"
    user.save(update_fields=["display_name"])
    assert get_user_model().objects.get(pk=user.pk).display_name == "やまだ"


def test_a_missing_related_row_is_known_without_a_query(db):
    user = get_user_model().objects.create_user("nobody@example.jp", "Prepared#2026")
    prepared = PreparedGet(get_user_model().objects.select_related("jobseeker"), "pk")
    found = prepared.get(pk=user.pk)
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(JobSeeker.DoesNotExist):
            found.jobseeker  # noqa: B018 - the attribute access is the test
    assert len(queries) == 0


def test_no_row_and_two_rows_raise_as_get_does(db):
    first = flow_start(Purpose.REGISTER, privacy_version="p", terms_version="t", ip="127.0.0.1")
    flow_start(Purpose.REGISTER, privacy_version="p", terms_version="t", ip="127.0.0.1")
    by_pk_and_purpose = PreparedGet(RegistrationFlow.objects.all(), "pk", "purpose")
    assert by_pk_and_purpose.get(pk=first.pk, purpose=Purpose.REGISTER).reference == (
        first.reference
    )
    with pytest.raises(RegistrationFlow.DoesNotExist):
        by_pk_and_purpose.get(pk=first.pk, purpose=Purpose.RESET)
    with pytest.raises(RegistrationFlow.DoesNotExist):
        by_pk_and_purpose.get(pk=first.pk + 1000, purpose=Purpose.REGISTER)
    with pytest.raises(RegistrationFlow.MultipleObjectsReturned):
        PreparedGet(RegistrationFlow.objects.all(), "purpose").get(purpose=Purpose.REGISTER)


def test_a_uuid_key_and_a_foreign_key_join(user_with_jobseeker):
    now = dt.datetime.now(dt.UTC)
    challenge = LoginChallenge.objects.create(
        user=user_with_jobseeker, code_hash="0" * 64, expires_at=now + dt.timedelta(minutes=10)
    )
    prepared = PreparedGet(LoginChallenge.objects.select_related("user"), "pk")
    found = prepared.get(pk=challenge.pk)
    assert _fields(found) == _fields(LoginChallenge.objects.get(pk=challenge.pk))
    with CaptureQueriesContext(connection) as queries:
        assert found.user.email == "prepared@example.jp"
    assert len(queries) == 0
    # A string form of the key works as it does with get().
    assert prepared.get(pk=str(challenge.pk)).pk == challenge.pk


def test_wrong_arguments_and_unsupported_querysets_are_refused(db):
    prepared = PreparedGet(RegistrationFlow.objects.all(), "pk")
    with pytest.raises(TypeError):
        prepared.get(reference="x")
    with pytest.raises(TypeError):
        prepared.get(pk=1, purpose="register")
    for queryset in (
        RegistrationFlow.objects.filter(purpose="register"),
        RegistrationFlow.objects.order_by("pk"),
        RegistrationFlow.objects.all()[:1],
        RegistrationFlow.objects.select_for_update(),
        RegistrationFlow.objects.values("pk"),
        RegistrationFlow.objects.distinct(),
        RegistrationFlow.objects.prefetch_related("jobseeker"),
        RegistrationFlow.objects.annotate(
            open_stage=FilteredRelation("jobseeker", condition=Q(jobseeker__status="pending"))
        ),
    ):
        with pytest.raises(ValueError):
            PreparedGet(queryset, "pk")
    with pytest.raises(ValueError):
        PreparedGet(RegistrationFlow.objects.all())


@pytest.mark.django_db(transaction=True)  # the threads' own connections see the rows
def test_first_use_from_many_threads_at_once(user_with_jobseeker):
    """Threads that compile the same query at the same moment each get the right instance."""
    prepared = PreparedGet(get_user_model().objects.select_related("jobseeker"), "pk")
    found = run_at_once(
        [lambda: prepared.get(pk=user_with_jobseeker.pk).jobseeker.name] * 8, timeout=30
    )
    assert found == ["山田太郎"] * 8


# --- PreparedQuery, PreparedUpdate, prepared_insert --------------------------------------------


def _flows(*purposes):
    return [
        flow_start(purpose, privacy_version="p", terms_version="t", ip="127.0.0.1")
        for purpose in purposes
    ]


def test_a_prepared_query_answers_as_the_queryset_for_each_binding(db):
    from django.utils import timezone

    from portal.core.prepared import Param, PreparedQuery

    first, second, reset = _flows(Purpose.REGISTER, Purpose.REGISTER, Purpose.RESET)
    since = Param("since", RegistrationFlow, "started_at")
    prepared = PreparedQuery(
        RegistrationFlow.objects.filter(
            purpose=Param("purpose", RegistrationFlow), started_at__gte=since
        ).exclude(pk=Param("not_pk", RegistrationFlow, "pk"))
    )
    long_ago = timezone.now() - dt.timedelta(days=1)
    for purpose, not_pk in ((Purpose.REGISTER, first.pk), (Purpose.RESET, first.pk)):
        expected = RegistrationFlow.objects.filter(
            purpose=purpose, started_at__gte=long_ago
        ).exclude(pk=not_pk)
        values = {"purpose": purpose, "since": long_ago, "not_pk": not_pk}
        want = (expected.count(), [f.pk for f in expected], expected.first().pk)
        with CaptureQueriesContext(connection) as queries:
            got = (
                prepared.count(**values),
                [f.pk for f in prepared.all(**values)],
                prepared.first(**values).pk,
            )
        assert got == want
        assert len(queries) == 3
    assert prepared.count(purpose=Purpose.REGISTER, since=timezone.now(), not_pk=0) == 0
    assert prepared.first(purpose=Purpose.REGISTER, since=timezone.now(), not_pk=0) is None
    assert _fields(prepared.first(purpose=Purpose.RESET, since=long_ago, not_pk=0)) == _fields(
        reset
    )
    assert second.pk != first.pk


def test_values_are_bound_never_written_into_the_sql(make_jobseeker):
    from portal.core.prepared import Param, PreparedQuery

    seeker = make_jobseeker(email="Someone@Example.jp")
    prepared = PreparedQuery(
        JobSeeker.objects.filter(email__lower=Param("email", JobSeeker)).order_by("pk")
    )
    assert prepared.first(email="someone@example.jp").pk == seeker.pk
    assert prepared.first(email="x' OR '1'='1") is None


def test_bindings_must_name_exactly_the_params(db):
    from portal.core.prepared import Param, PreparedQuery

    prepared = PreparedQuery(RegistrationFlow.objects.filter(pk=Param("pk", RegistrationFlow)))
    with pytest.raises(TypeError):
        prepared.first()
    with pytest.raises(TypeError):
        prepared.first(pk=1, purpose="register")


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_outside_a_transaction_is_refused():
    from django.db.transaction import TransactionManagementError

    from portal.core.prepared import Param, PreparedQuery

    (flow,) = _flows(Purpose.REGISTER)
    locked = PreparedQuery(
        RegistrationFlow.objects.select_for_update().filter(pk=Param("pk", RegistrationFlow))
    )
    from django.db import transaction

    with transaction.atomic():
        locked.get(pk=flow.pk)  # compiled inside one
    with pytest.raises(TransactionManagementError):
        locked.get(pk=flow.pk)


def test_a_prepared_update_changes_what_the_querysets_update_would(db, clock):
    from portal.core.prepared import Param, PreparedQuery
    from portal.registration.flow import Stage

    first, second, reset = _flows(Purpose.REGISTER, Purpose.REGISTER, Purpose.RESET)
    end = PreparedQuery(
        RegistrationFlow.objects.filter(
            purpose=Param("purpose", RegistrationFlow), stage=Stage.TERMS_AGREED
        ).exclude(pk=Param("keep", RegistrationFlow, "pk"))
    ).updating(
        stage=Stage.ENDED,
        ended_reason=Param("reason", RegistrationFlow, "ended_reason"),
        updated_at=Param("now", RegistrationFlow, "updated_at"),
    )
    moment = clock.advance(minutes=5)
    assert end.run(purpose=Purpose.REGISTER, keep=second.pk, reason="superseded", now=moment) == 1
    rows = {f.pk: f for f in RegistrationFlow.objects.all()}
    assert (rows[first.pk].stage, rows[first.pk].ended_reason) == (Stage.ENDED, "superseded")
    assert rows[first.pk].updated_at == moment
    assert rows[second.pk].stage == rows[reset.pk].stage == Stage.TERMS_AGREED
    assert end.run(purpose=Purpose.REGISTER, keep=second.pk, reason="x", now=moment) == 0


def test_an_update_across_tables_is_refused(db):
    from portal.core.prepared import Param, PreparedQuery

    _flows(Purpose.REGISTER)
    across = PreparedQuery(
        RegistrationFlow.objects.filter(jobseeker__status=Param("status", JobSeeker))
    ).updating(mail_kind="x")
    with pytest.raises(ValueError):
        across.run(status="pending")


def test_prepared_insert_writes_the_row_save_writes(db, clock):
    from portal.audit.models import AuditEvent
    from portal.audit.services import audit_event_build
    from portal.core.prepared import prepared_insert
    from portal.mail.models import OutboundMail

    def twins(make):
        saved, inserted = make(), make()
        saved.save()
        with CaptureQueriesContext(connection) as queries:
            assert prepared_insert(inserted) is inserted
        assert len(queries) == 1
        assert inserted.pk is not None and inserted.pk != saved.pk
        assert inserted._state.adding is False and inserted._state.db == "default"
        model = type(saved)
        stored = {o.pk: _fields(o) for o in model.objects.filter(pk__in=[saved.pk, inserted.pk])}
        assert {k: v for k, v in stored[inserted.pk].items() if k != "id"} == {
            k: v for k, v in stored[saved.pk].items() if k != "id"
        }
        return inserted

    moment = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    event = twins(
        lambda: audit_event_build(
            "test.event",
            target_type="flow",
            target_id="AB12-CD34",
            ip="192.0.2.1",
            detail={"名前": "値", "n": 1},
        )
    )
    assert AuditEvent.objects.get(pk=event.pk).detail == {"名前": "値", "n": 1}
    twins(
        lambda: OutboundMail(
            created_at=moment,
            to="a@example.jp",
            kind="k",
            subject="件名",
            body="本文",
            secret_sealed=b"\x00\x01sealed",
            status="queued",
            next_attempt_at=moment,
        )
    )
    mail = twins(lambda: OutboundMail(to="b@example.jp", kind="k", subject="s", body="b"))
    assert OutboundMail.objects.get(pk=mail.pk).secret_sealed is None


def test_prepared_insert_leaves_anything_but_a_plain_insert_to_save(db):
    from django.db.models import Value
    from django.db.models.functions import Upper
    from django.db.models.signals import pre_save

    from portal.audit.models import AuditEvent
    from portal.core.prepared import prepared_insert

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.action)

    pre_save.connect(receiver, sender=AuditEvent)
    try:
        prepared_insert(AuditEvent(action="with.receiver"))
    finally:
        pre_save.disconnect(receiver, sender=AuditEvent)
    assert seen == ["with.receiver"]
    event = prepared_insert(AuditEvent(action="expr", actor_label=Upper(Value("staff"))))
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "STAFF"


def test_prepared_update_writes_what_save_with_update_fields_writes(user_with_jobseeker, clock):
    from django.db import DatabaseError

    from portal.core.prepared import prepared_update

    seeker = JobSeeker.objects.get(user=user_with_jobseeker)
    other = get_user_model().objects.create_user("other@example.jp", "Prepared#2026")
    twin = JobSeeker.objects.get(pk=seeker.pk)
    seeker.name, seeker.user, seeker.updated_at = "変更後", other, clock.advance(minutes=1)
    seeker.office = "not written"  # not in update_fields
    with CaptureQueriesContext(connection) as queries:
        prepared_update(seeker, ["name", "user", "updated_at"])
    assert len(queries) == 1
    stored = JobSeeker.objects.get(pk=seeker.pk)  # what prepared_update wrote
    assert (stored.name, stored.user_id, stored.updated_at) == (
        "変更後",
        other.pk,
        seeker.updated_at,
    )
    assert stored.office == ""
    twin.name, twin.user, twin.updated_at = "変更後", other, seeker.updated_at
    twin.save(update_fields=["name", "user", "updated_at"])
    assert _fields(stored) == _fields(JobSeeker.objects.get(pk=seeker.pk))  # = save()'s row
    JobSeeker.objects.filter(pk=seeker.pk).delete()
    with pytest.raises(DatabaseError):
        prepared_update(seeker, ["name"])


def test_a_param_compared_with_none_is_refused(db):
    from portal.core.prepared import Param, PreparedQuery

    by_email = RegistrationFlow.objects.filter(email=Param("email", RegistrationFlow))
    prepared = PreparedQuery(by_email)
    with pytest.raises(ValueError, match="isnull"):
        prepared.count(email=None)


def test_an_unsaved_related_instance_is_refused_as_save_refuses_it(db):
    from portal.core.prepared import prepared_insert
    from portal.mail.models import MailAttempt, OutboundMail

    with pytest.raises(ValueError, match="unsaved related object"):
        prepared_insert(MailAttempt(mail=OutboundMail(to="x@example.jp"), ok=True))
