"""Sessions use Django's own engines: `cached_db` with REDIS_URL (the database holds every
session, Redis a copy), `db` without. A session outlives its cache entry, is never brought
back once ended elsewhere, and a taken key is never overwritten."""

import datetime as dt
import re
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from portal.ops.services import sessions_purge

pytestmark = pytest.mark.django_db


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _cache_loses_everything() -> None:
    """What an eviction or a restart of the cache does to the sessions' copies."""
    cache = caches[settings.SESSION_CACHE_ALIAS]
    if settings.REDIS_URL:
        cache.delete_pattern("*")  # this process's key prefix only (config/settings_test.py)
    else:
        cache.clear()


def test_the_engine_is_djangos_with_sessions_in_the_database():
    expected = "cached_db" if settings.REDIS_URL else "db"
    assert settings.SESSION_ENGINE == f"django.contrib.sessions.backends.{expected}"


def test_a_registration_goes_on_after_the_cache_lost_its_session():
    client = Client()
    terms = client.get("/register/").content.decode()
    versions = dict(re.findall(r'name="(privacy_version|terms_version)" value="([^"]*)"', terms))
    assert client.post("/register/", {"agree": "on", **versions}).status_code == 302
    _cache_loses_everything()
    response = client.get("/register/identity/")
    assert response.status_code == 200  # ②, not sent back to the terms
    assert 'name="email"' in response.content.decode()


def test_a_session_ended_elsewhere_is_not_brought_back():
    store = _store()
    session = store()
    session["flow:register"] = 7
    session.save()
    store(session.session_key).delete()  # a logout in another tab
    session["flow:register"] = 8
    with pytest.raises(UpdateError):
        session.save()
    assert not store().exists(session.session_key)


def test_a_taken_key_is_never_overwritten():
    store = _store()
    first = store()
    first["owner"] = "first"
    first.save()
    taken = store(first.session_key)
    taken["owner"] = "second"
    with pytest.raises(CreateError):
        taken.save(must_create=True)
    _cache_loses_everything()
    assert store(first.session_key).load() == {"owner": "first"}


def test_the_purge_deletes_expired_sessions():
    store = _store()
    live, gone = store(), store()
    for session in (live, gone):
        session["x"] = 1
        session.create()
    Session.objects.filter(session_key=gone.session_key).update(
        expire_date=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    assert sessions_purge() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
