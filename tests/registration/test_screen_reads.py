"""A screen reads its flow once: nothing the template shows is loaded by a query of its own."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.browser_client import BrowserClient as Client


def _flow_reads(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return sum('FROM "registration_registrationflow"' in q["sql"] for q in queries)


@pytest.mark.django_db
@pytest.mark.parametrize("change_address", [False, True])
def test_identity_and_password_screens_read_the_flow_once(change_address):
    client = Client()
    terms = client.get("/register/").content.decode()
    versions = dict(re.findall(r'name="(privacy_version|terms_version)" value="([^"]*)"', terms))
    assert client.post("/register/", {"agree": "on", **versions}).status_code == 302
    assert _flow_reads(client, "/register/identity/") == 1
    answer = {
        "email": "reads@example.jp",
        "birth_year": "1990",
        "birth_month": "4",
        "birth_day": "1",
    }
    assert client.post("/register/identity/", answer).status_code == 302
    assert _flow_reads(client, "/register/password/") == 1
    if change_address:  # back to ② with the address filled in
        assert client.post("/register/password/change-address/").status_code == 302
        assert _flow_reads(client, "/register/identity/") == 1
        assert 'value="reads@example.jp"' in client.get("/register/identity/").content.decode()
