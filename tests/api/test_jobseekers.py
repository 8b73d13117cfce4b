"""PUT and GET /jobseekers/{number}: the register's rules through the API."""

import pytest

from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker

from .conftest import SEEKER

pytestmark = pytest.mark.django_db


def test_put_creates_then_is_idempotent(api):
    first = api.put("/jobseekers/13010-00000001", SEEKER)
    assert first.status_code == 201
    assert first["ETag"] == '"1"'
    body = first.json()
    assert body["account"]["state"] == "pending" and body["version"] == 1
    again = api.put("/jobseekers/13010-00000001", SEEKER)
    assert again.status_code == 200
    assert again["ETag"] == '"1"'
    assert JobSeeker.objects.count() == 1
    events = AuditEvent.objects.filter(target_id="13010-00000001")
    assert [e.action for e in events] == ["jobseeker.created"]
    assert events[0].actor_label == "API:基幹システム" and events[0].detail["source"] == "api"


def test_put_updates_and_bumps_the_version(api):
    api.put("/jobseekers/13010-00000001", SEEKER)
    response = api.put("/jobseekers/13010-00000001", {**SEEKER, "office": "渋谷"})
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert JobSeeker.objects.get().office == "渋谷"


def test_put_sets_the_preferred_language_and_leaving_it_out_keeps_it(api):
    created = api.put("/jobseekers/13010-00000001", {**SEEKER, "language": "en"})
    assert created.status_code == 201 and created.json()["language"] == "en"
    kept = api.put("/jobseekers/13010-00000001", {**SEEKER, "office": "渋谷"})
    assert kept.json()["language"] == "en"
    assert JobSeeker.objects.get().language == "en"
    unknown = api.put("/jobseekers/13010-00000001", {**SEEKER, "language": "xx"})
    assert unknown.status_code == 422
    assert unknown["Content-Type"].startswith("application/problem+json")


def test_full_width_input_is_normalised_as_in_csv(api):
    response = api.put(
        "/jobseekers/１３０１０－０００００００１",
        {**SEEKER, "birth_date": "１９９０－０４－０１", "email": "ＴＡＲＯ@example.jp"},
    )
    assert response.status_code == 201
    seeker = JobSeeker.objects.get()
    assert seeker.number == "13010-00000001" and seeker.email == "taro@example.jp"
    assert str(seeker.birth_date) == "1990-04-01"


def test_pending_address_may_change(api):
    api.put("/jobseekers/13010-00000001", SEEKER)
    response = api.put("/jobseekers/13010-00000001", {**SEEKER, "email": "new@example.jp"})
    assert response.status_code == 200
    assert response.json()["email"] == "new@example.jp"


def test_active_address_points_to_the_email_change(api, make_account):
    make_account(number="13010-00000001", email="taro@example.jp")
    response = api.put("/jobseekers/13010-00000001", {**SEEKER, "email": "new@example.jp"})
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "urn:mypage:api:problem:email-change-required"
    assert JobSeeker.objects.get().email == "taro@example.jp"
    # Other fields of an active account still change.
    response = api.put("/jobseekers/13010-00000001", {**SEEKER, "office": "渋谷"})
    assert response.status_code == 200


def test_an_address_held_by_another_is_a_conflict(api, make_jobseeker):
    make_jobseeker(number="13010-00000009", email="taro@example.jp")
    response = api.put("/jobseekers/13010-00000001", SEEKER)
    assert response.status_code == 409
    assert response.json()["type"] == "urn:mypage:api:problem:conflict"


def test_stale_if_match_is_412(api):
    created = api.put("/jobseekers/13010-00000001", SEEKER)
    etag = created["ETag"]
    api.put("/jobseekers/13010-00000001", {**SEEKER, "office": "渋谷"})
    stale = api.put(
        "/jobseekers/13010-00000001", {**SEEKER, "office": "池袋"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert JobSeeker.objects.get().office == "渋谷"
    fresh = api.get("/jobseekers/13010-00000001")["ETag"]
    ok = api.put(
        "/jobseekers/13010-00000001", {**SEEKER, "office": "池袋"}, headers={"If-Match": fresh}
    )
    assert ok.status_code == 200


def test_if_match_on_a_missing_record_is_412(api):
    response = api.put("/jobseekers/13010-00000001", SEEKER, headers={"If-Match": '"1"'})
    assert response.status_code == 412
    assert not JobSeeker.objects.exists()


def test_get_returns_register_account_and_mails_never_keys(api, make_account, smtp_server):
    from portal.counter.services import jobseeker_change_email

    seeker = make_account(number="13010-00000001", email="taro@example.jp")
    jobseeker_change_email(seeker, "jiro@example.jp", actor_label="test")
    response = api.get("/jobseekers/13010-00000001")
    assert response.status_code == 200
    body = response.json()
    assert body["account"]["state"] == "active"
    assert body["account"]["opened_at"] is not None
    assert body["mails"] and set(body["mails"][0]) == {"kind", "status", "created_at"}
    assert response["ETag"] == f'"{JobSeeker.objects.get().version}"'


def test_get_unknown_number_is_404(api):
    response = api.get("/jobseekers/13010-00000001")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_counter_email_change_bumps_the_version(api, make_account, smtp_server):
    from portal.counter.services import jobseeker_change_email

    seeker = make_account(number="13010-00000001", email="taro@example.jp")
    before = api.get("/jobseekers/13010-00000001")["ETag"]
    jobseeker_change_email(seeker, "jiro@example.jp", actor_label="test")
    after = api.get("/jobseekers/13010-00000001")["ETag"]
    assert before != after
