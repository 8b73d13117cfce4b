import pytest
from django.urls import reverse

from portal.ops import views


class BrokenCache:
    def set(self, *args, **kwargs):
        raise ConnectionError("redis is gone")

    def get(self, *args, **kwargs):
        raise ConnectionError("redis is gone")

    def delete(self, *args, **kwargs):
        raise ConnectionError("redis is gone")


def test_healthz_needs_nothing_but_the_process(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_database_and_cache(client):
    response = client.get(reverse("ops:readyz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_readyz_fails_when_the_cache_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(views, "cache", BrokenCache())
    response = client.get(reverse("ops:readyz"))
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "cache": "error: ConnectionError",
    }


@pytest.mark.django_db
def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("registration:top")).status_code == 301
    for name in ("ops:healthz", "ops:readyz", "ops:metrics"):
        assert client.get(reverse(name)).status_code == 200, name
