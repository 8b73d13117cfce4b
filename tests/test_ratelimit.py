"""Fixed-window rate limits, on the cache the settings give (the database cache, or Redis in
CI's first pass)."""

import pytest
from django.conf import settings
from django.core.cache import cache

from portal.core.ratelimit import Limit, rate_limit_exceeded, rate_limits_exceeded

pytestmark = pytest.mark.django_db


def hits(key: str, n: int, *, limit: int = 3) -> list[bool]:
    return [rate_limit_exceeded("test", key, limit=limit, window_seconds=3600) for _ in range(n)]


def test_hits_over_the_limit_are_refused_per_key():
    assert hits("198.51.100.7", 5) == [False, False, False, True, True]
    assert hits("198.51.100.8", 1) == [False]  # another key counts on its own


def test_the_next_window_counts_afresh(clock):
    assert hits("203.0.113.9", 4) == [False, False, False, True]
    clock.advance(hours=1)
    assert hits("203.0.113.9", 1) == [False]


@pytest.mark.skipif(not settings.REDIS_URL, reason="counters are in the cache on Redis only")
def test_a_counter_evicted_from_the_cache_counts_afresh():
    assert hits("192.0.2.1", 3) == [False, False, False]
    cache.clear()
    assert hits("192.0.2.1", 1) == [False]


def test_several_limits_are_each_counted_and_answered():
    ip, address = Limit("t-ip", "192.0.2.5", 3, 3600), Limit("t-address", "a@example.jp", 1, 3600)
    assert rate_limits_exceeded(ip, address) == [False, False]
    assert rate_limits_exceeded(ip, address) == [False, True]  # counted although over
    assert rate_limits_exceeded(ip, address) == [False, True]
    assert rate_limits_exceeded(ip) == [True]


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL)")
def test_on_redis_a_hit_is_one_round_trip_and_the_window_expires(request):
    from django_redis import get_redis_connection

    hits("198.51.100.20", 1)  # loads the script
    commands = request.getfixturevalue("redis_commands")  # counted from here
    assert hits("198.51.100.20", 1) == [False]
    assert rate_limits_exceeded(
        Limit("test", "198.51.100.21", 3, 3600), Limit("other", "x@example.jp", 3, 3600)
    ) == [False, False]
    assert commands == ["EVALSHA", "EVALSHA"]  # one per request, however many limits
    redis = get_redis_connection()
    key = cache.make_key(Limit("test", "198.51.100.20", 3, 3600).cache_key())
    assert int(redis.get(key)) == 2
    # Two windows' length: a counter outlives its window, never the next one.
    assert 3600 < redis.ttl(key) <= 7200
