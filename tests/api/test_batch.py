"""POST /jobseekers/batch and Idempotency-Key."""

import pytest

from portal.api.models import IdempotencyRecord
from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker

from .conftest import SEEKER

pytestmark = pytest.mark.django_db


def row(n, **overrides):
    return {**SEEKER, "number": f"13010-{n:08d}", "email": f"seeker{n}@example.jp", **overrides}


def test_a_batch_of_good_and_bad_rows(api, make_jobseeker, make_account):
    make_jobseeker(number="13010-00000002", email="seeker2@example.jp", office="新宿")
    make_jobseeker(number="13010-00000003", email="seeker3@example.jp", office="新宿")
    make_account(number="13010-00000005", email="seeker5@example.jp")
    make_jobseeker(number="13010-00000009", email="held@example.jp")
    rows = [
        row(1),  # created
        row(2, office="渋谷"),  # updated
        row(3),  # unchanged
        row(4, email="bad", birth_date="1990-02-30"),  # rejected by the parser, two fields
        row(5, email="other@example.jp"),  # rejected: an opened account's address
        row(6, email="held@example.jp"),  # rejected: held by another job seeker
        row(1, name="重複"),  # rejected: the number again in the batch
        {**row(7), "number": "１３０１０－０００００００７"},  # created, normalised
    ]
    response = api.post("/jobseekers/batch", {"rows": rows})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (2, 1, 1, 4)
    results = [r["result"] for r in body["rows"]]
    assert results == [
        "created",
        "updated",
        "unchanged",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "created",
    ]
    assert {e["field"] for e in body["rows"][3]["errors"]} == {"email", "birth_date"}
    assert body["rows"][4]["errors"][0]["field"] == "email"
    assert body["rows"][6]["errors"][0]["field"] == "number"
    assert body["rows"][7]["number"] == "13010-00000007"
    assert JobSeeker.objects.get(number="13010-00000002").office == "渋谷"
    assert JobSeeker.objects.get(number="13010-00000005").email == "seeker5@example.jp"
    audit = AuditEvent.objects.get(action="api.jobseeker_batch")
    assert audit.actor_label == "API:基幹システム" and audit.detail["created"] == 2
    assert (
        AuditEvent.objects.filter(
            action="jobseeker.created", actor_label="API:基幹システム"
        ).count()
        == 2
    )


def test_more_than_1000_rows_are_refused(api):
    response = api.post("/jobseekers/batch", {"rows": [row(n) for n in range(1, 1002)]})
    assert response.status_code == 422
    assert not JobSeeker.objects.exists()


def test_a_retried_batch_answers_the_first_answer(api):
    rows = [row(1), row(2)]
    key = {"Idempotency-Key": "batch-2026-12-03-001"}
    first = api.post("/jobseekers/batch", {"rows": rows}, headers=key)
    assert first.json()["created"] == 2
    again = api.post("/jobseekers/batch", {"rows": rows}, headers=key)
    assert again.status_code == 200
    assert again.json() == first.json()  # "created" again, though now they would be unchanged
    assert again["Idempotent-Replayed"] == "true"
    assert JobSeeker.objects.count() == 2
    assert AuditEvent.objects.filter(action="api.jobseeker_batch").count() == 1
    # Without a key the same batch is simply applied again.
    plain = api.post("/jobseekers/batch", {"rows": rows})
    assert plain.json()["unchanged"] == 2


def test_a_key_reused_with_another_body_is_422(api):
    key = {"Idempotency-Key": "k-1"}
    api.post("/jobseekers/batch", {"rows": [row(1)]}, headers=key)
    response = api.post("/jobseekers/batch", {"rows": [row(2)]}, headers=key)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:mypage:api:problem:idempotency-key-reused"
    assert not JobSeeker.objects.filter(number="13010-00000002").exists()


def test_keys_are_kept_per_client(client, make_token, api_client_system):
    from portal.api.models import ApiClient

    from .conftest import Api

    other = ApiClient.objects.create(name="別システム")
    first = Api(client, make_token("register:write").plaintext)
    second = Api(client, make_token("register:write", client=other).plaintext)
    key = {"Idempotency-Key": "shared"}
    first.post("/jobseekers/batch", {"rows": [row(1)]}, headers=key)
    response = second.post("/jobseekers/batch", {"rows": [row(2)]}, headers=key)
    assert response.status_code == 200 and response.json()["created"] == 1
    assert IdempotencyRecord.objects.count() == 2


def test_an_expired_key_may_be_used_again(api, clock, settings):
    settings.API_IDEMPOTENCY_HOURS = 1
    key = {"Idempotency-Key": "k-1"}
    api.post("/jobseekers/batch", {"rows": [row(1)]}, headers=key)
    clock.advance(minutes=61)
    response = api.post("/jobseekers/batch", {"rows": [row(2)]}, headers=key)
    assert response.status_code == 200 and response.json()["created"] == 1
    assert IdempotencyRecord.objects.count() == 1


def test_a_batch_of_only_bad_rows(api):
    response = api.post(
        "/jobseekers/batch",
        {"rows": [{"number": "", "name": "", "name_kana": "", "email": "", "birth_date": ""}]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["rejected"] == 1 and body["rows"][0]["result"] == "rejected"
    assert {e["field"] for e in body["rows"][0]["errors"]} >= {"number", "name", "email"}
