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
