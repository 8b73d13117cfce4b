import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from portal.api.models import ApiClient
from portal.api.tokens import SCOPE_NAMES, api_token_create
from portal.jobseekers import services
from portal.jobseekers.models import JobSeeker

PASSWORD = "Secret#pass1"


@pytest.fixture(autouse=True)
def _copy_path_on_postgres(monkeypatch):
    """On PostgreSQL every batch takes the register's COPY path, on SQLite the ORM path."""
    if connection.vendor == "postgresql":
        monkeypatch.setattr(services, "POSTGRES_COPY_MIN_ROWS", 1)


@pytest.fixture
def api_client_system(db):
    return ApiClient.objects.create(name="基幹システム")


@pytest.fixture
def make_token(api_client_system):
    def make(*scopes, **kwargs):
        return api_token_create(
            kwargs.pop("client", api_client_system), scopes=scopes or SCOPE_NAMES, **kwargs
        )

    return make


class Api:
    """The Django test client speaking JSON with a bearer token."""

    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers):
        out = {}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(headers or {})
        return out

    def get(self, path, headers=None, **kwargs):
        return self.client.get("/api/v1" + path, headers=self._headers(headers), **kwargs)

    def put(self, path, body, headers=None):
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.client.put(
            "/api/v1" + path,
            data,
            content_type="application/json",
            headers=self._headers(headers),
        )

    def post(self, path, body=None, headers=None):
        data = body if isinstance(body, bytes | str) else json.dumps(body or {})
        return self.client.post(
            "/api/v1" + path,
            data,
            content_type="application/json",
            headers=self._headers(headers),
        )


@pytest.fixture
def api(client, make_token):
    """An API client whose token has every scope."""
    return Api(client, make_token().plaintext)


@pytest.fixture
def api_as(client, make_token):
    def make(*scopes, **kwargs):
        return Api(client, make_token(*scopes, **kwargs).plaintext)

    return make


@pytest.fixture
def make_account(make_jobseeker):
    def make(**overrides):
        seeker = make_jobseeker(**overrides)
        user = get_user_model().objects.create_user(seeker.email, PASSWORD)
        JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)
        seeker.refresh_from_db()
        return seeker

    return make


SEEKER = {
    "name": "山田太郎",
    "name_kana": "ヤマダタロウ",
    "email": "taro@example.jp",
    "birth_date": "1990-04-01",
    "office": "新宿",
}
