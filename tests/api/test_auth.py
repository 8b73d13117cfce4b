"""Tokens, bearer authentication, scopes, rate limits and problem details."""

import datetime as dt
import logging

import pytest
from django.core.management import call_command

from portal.api.models import ApiToken
from portal.api.tokens import api_token_revoke
from portal.audit.models import AuditEvent
from tests.staff import staff_force_login

from .conftest import SEEKER, Api

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_token_format_and_storage(make_token):
    issued = make_token("register:read")
    prefix, token_id, secret = issued.plaintext.split("_", 2)
    assert prefix == "mp" and token_id == issued.token.token_id
    assert len(secret) >= 43  # 32 random bytes, base64url
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert secret not in row.digest and len(row.digest) == 64
    assert row.digest != secret


def test_read_token_reads_and_records_last_use(api_as, make_jobseeker):
    make_jobseeker(number="13010-00000001")
    api = api_as("register:read")
    response = api.get("/jobseekers/13010-00000001")
    assert response.status_code == 200
    assert response.json()["number"] == "13010-00000001"
    token = ApiToken.objects.get()
    assert token.last_used_at is not None and token.last_used_ip == "127.0.0.1"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer mp_0123456789abcdef_" + "A" * 43,
    ],
)
def test_missing_or_wrong_token_is_401_problem(client, authorization, make_token):
    make_token()
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/jobseekers/13010-00000001", headers=headers)
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "urn:mypage:api:problem:unauthorized"
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_right_id_with_a_wrong_secret_is_refused(client, make_token):
    issued = make_token()
    forged = issued.plaintext[:-4] + ("AAAA" if not issued.plaintext.endswith("AAAA") else "BBBB")
    assert Api(client, forged).get("/jobseekers/13010-00000001").status_code == 401


def test_revoked_token_is_refused(client, make_token, make_jobseeker):
    make_jobseeker(number="13010-00000001")
    issued = make_token()
    api = Api(client, issued.plaintext)
    assert api.get("/jobseekers/13010-00000001").status_code == 200
    assert api_token_revoke(issued.token)
    assert api.get("/jobseekers/13010-00000001").status_code == 401
    assert not api_token_revoke(issued.token)


def test_expired_token_is_refused(client, make_token, make_jobseeker, clock):
    make_jobseeker(number="13010-00000001")
    issued = make_token(expires_at=clock.now() + dt.timedelta(hours=1))
    api = Api(client, issued.plaintext)
    assert api.get("/jobseekers/13010-00000001").status_code == 200
    clock.advance(minutes=61)
    assert api.get("/jobseekers/13010-00000001").status_code == 401


def test_token_used_outside_its_networks_is_refused(client, make_token, make_jobseeker):
    make_jobseeker(number="13010-00000001")
    inside = Api(client, make_token(networks=["127.0.0.0/8"]).plaintext)
    outside = Api(client, make_token(networks=["192.0.2.0/24", "2001:db8::/32"]).plaintext)
    assert inside.get("/jobseekers/13010-00000001").status_code == 200
    assert outside.get("/jobseekers/13010-00000001").status_code == 401


def test_read_token_cannot_write(api_as):
    response = api_as("register:read").put("/jobseekers/13010-00000001", SEEKER)
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "urn:mypage:api:problem:forbidden"


def test_write_token_cannot_read(api_as):
    assert api_as("register:write").get("/jobseekers/13010-00000001").status_code == 403


def test_failed_authentications_are_limited_per_ip(client, settings, make_token, make_jobseeker):
    settings.API_AUTH_FAILURES_PER_IP_PER_HOUR = 3
    make_jobseeker(number="13010-00000001")
    wrong = Api(client, "mp_0123456789abcdef_" + "A" * 43)
    statuses = [wrong.get("/jobseekers/13010-00000001").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = wrong.get("/jobseekers/13010-00000001")
    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM
    assert 1 <= int(response["Retry-After"]) <= 3600
    # Another address is not affected.
    other = client.get(
        "/api/v1/jobseekers/13010-00000001",
        headers={"Authorization": "Bearer " + make_token().plaintext},
        REMOTE_ADDR="192.0.2.7",
    )
    assert other.status_code == 200


def test_each_token_has_its_own_rate_limit(client, settings, make_token, make_jobseeker):
    settings.API_REQUESTS_PER_TOKEN_PER_MINUTE = 2
    make_jobseeker(number="13010-00000001")
    first = Api(client, make_token().plaintext)
    second = Api(client, make_token().plaintext)
    statuses = [first.get("/jobseekers/13010-00000001").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = first.get("/jobseekers/13010-00000001")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert second.get("/jobseekers/13010-00000001").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (b'{"name": ', 400, "malformed-body"),
        (b'{"name": "\xff\xfe"}', 400, "malformed-body"),
        ({**SEEKER, "name": 12}, 422, "validation"),
        ({**SEEKER, "unknown": "x"}, 422, "validation"),
        ({**SEEKER, "birth_date": ["1990-04-01"]}, 422, "validation"),
        ([1, 2, 3], 422, "validation"),
        ({**SEEKER, "email": "not an address"}, 422, "validation"),
        ({**SEEKER, "birth_date": "1990-02-30"}, 422, "validation"),
    ],
)
def test_bad_input_is_a_problem_not_a_500(api, body, status, slug):
    response = api.put("/jobseekers/13010-00000001", body)
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == f"urn:mypage:api:problem:{slug}"
    assert problem["status"] == status


def test_validation_problems_name_each_field(api):
    response = api.put(
        "/jobseekers/13010-00000001", {**SEEKER, "email": "x", "birth_date": "1990-13-01"}
    )
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"email", "birth_date"}


def test_a_multi_megabyte_body_is_413(api):
    body = '{"name": "' + "あ" * 3_000_000 + '"}'
    response = api.put("/jobseekers/13010-00000001", body)
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize("number", ["13010-0000001", "abc", "13010_00000001", "１３０１０-"])
def test_a_number_of_the_wrong_shape_is_422(api, number):
    response = api.get(f"/jobseekers/{number}")
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM


def test_unknown_path_is_a_problem(api):
    response = api.get("/nothing-here")
    assert response.status_code == 404


def test_docs_only_for_signed_in_staff(client, django_user_model):
    assert client.get("/api/v1/docs").status_code == 302
    assert client.get("/api/v1/openapi.json").status_code == 302
    staff = django_user_model.objects.create_user("staff@example.jp", "Staff#pass1", is_staff=True)
    client.force_login(staff)  # the password step alone opens nothing
    assert client.get("/api/v1/docs").status_code == 302
    assert client.get("/api/v1/openapi.json").status_code == 302
    staff_force_login(client, staff)
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"/static/ninja/swagger-ui-bundle.js" in docs.content  # served here, CSP allows it
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")


def test_the_management_command_creates_lists_and_revokes(capsys):
    call_command(
        "api_token",
        "create",
        "--client",
        "基幹システム",
        "--scope",
        "register:read",
        "--network",
        "192.0.2.0/24",
        "--expires-days",
        "30",
    )
    plaintext = capsys.readouterr().out.strip()
    assert plaintext.startswith("mp_")
    token = ApiToken.objects.get()
    assert token.networks == ["192.0.2.0/24"] and token.expires_at is not None
    call_command("api_token", "list")
    listing = capsys.readouterr().out
    assert f"mp_{token.token_id}_…" in listing and "active" in listing
    assert plaintext not in listing
    call_command("api_token", "revoke", f"mp_{token.token_id}_")
    token.refresh_from_db()
    assert token.revoked_at is not None
    call_command("api_token", "list")
    assert "revoked" in capsys.readouterr().out


def test_no_token_in_logs_or_database(client, make_token, make_jobseeker, caplog):
    make_jobseeker(number="13010-00000001")
    issued = make_token()
    secret = issued.plaintext.split("_", 2)[2]  # the secret may itself contain "_"
    caplog.set_level(logging.DEBUG)
    api = Api(client, issued.plaintext)
    api.get("/jobseekers/13010-00000001")
    api.put("/jobseekers/13010-00000002", {**SEEKER, "email": "x"})
    Api(client, issued.plaintext + "x").get("/jobseekers/13010-00000001")
    assert secret not in caplog.text
    from django.db import connection

    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                assert secret not in text, table
    assert AuditEvent.objects.filter(action="api.token_created").exists()
