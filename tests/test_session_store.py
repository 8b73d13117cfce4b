"""The Redis session store (portal.core.sessions): Django's cache store with one round trip
per write."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="the Redis session store is used with REDIS_URL only"
)


@pytest.fixture
def store():
    from portal.core.sessions import SessionStore

    return SessionStore


def test_settings_use_this_store_with_redis():
    assert settings.SESSION_ENGINE == "portal.core.sessions"


def test_keys_are_32_characters_of_djangos_alphabet_and_never_repeat(store):
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS

    keys = {store()._get_new_session_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(len(key) == 32 and set(key) <= set(VALID_KEY_CHARS) for key in keys)


def test_create_and_save_are_one_write_each(store, redis_commands):
    session = store()
    session["flow:register"] = 7
    session.save()  # no key yet: creates one
    assert redis_commands == ["SET"]
    session["flow:register"] = 8
    session.save()
    assert redis_commands == ["SET", "SET"]
    assert store(session.session_key).load() == {"flow:register": 8}


def test_a_session_ended_elsewhere_is_not_brought_back(store):
    session = store()
    session["flow:register"] = 7
    session.save()
    store(session.session_key).delete()  # a logout in another tab
    session["flow:register"] = 8
    with pytest.raises(UpdateError):
        session.save()
    assert not store().exists(session.session_key)


def test_a_taken_key_is_never_overwritten_and_create_draws_another(store, monkeypatch):
    first = store()
    first["owner"] = "first"
    first.save()
    drawn = iter([first.session_key, "k" * 32])
    monkeypatch.setattr(store, "_get_new_session_key", lambda self: next(drawn))
    taken = store(first.session_key)
    taken["owner"] = "second"
    with pytest.raises(CreateError):
        taken.save(must_create=True)
    second = store()
    second["owner"] = "second"
    second.create()
    assert second.session_key == "k" * 32
    assert store(first.session_key).load() == {"owner": "first"}
    second.delete()
