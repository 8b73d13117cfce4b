"""Rate limits hold under concurrency on every supported backend: Redis, and the database
(PostgreSQL or SQLite) when the cache is not Redis. Each parallel test runs on the configured
cache and, when that is Redis, once more on the database cache, so one PostgreSQL run with
Redis covers both PostgreSQL layouts."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django_redis.cache import RedisCache

from portal.core.models import RateLimitCounter
from portal.core.ratelimit import (
    Limit,
    rate_limit_exceeded,
    rate_limits_clear,
    rate_limits_exceeded,
)
from tests.browser_client import BrowserClient as Client
from tests.registration.journey import Journey
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)
# SQLite takes its write lock at BEGIN (IMMEDIATE), which serialises the hits of every process;
# the test database, though, is in memory with a shared cache, whose table locks fail at once
# instead of waiting on the busy timeout, so threads cannot share it.
parallel = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="threads need a database server (PostgreSQL)"
)

PARALLEL = 40
LIMIT = 10


_DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "portal_cache",
    }
}


@pytest.fixture(
    autouse=True,
    params=["configured"] + (["database"] if settings.REDIS_URL else []),
)
def _cache(request, settings):
    """The configured cache, and the database cache (production without Redis) as well."""
    if request.param == "database":
        settings.CACHES = _DATABASE_CACHE
        settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    rate_limits_clear()
    yield request.param
    rate_limits_clear()


def _backend() -> str:
    if isinstance(caches["default"], RedisCache):
        return "redis"
    return connection.vendor


@parallel
def test_parallel_hits_let_exactly_the_limit_through():
    def hit():
        return rate_limit_exceeded("parallel", "192.0.2.77", limit=LIMIT, window_seconds=3600)

    outcomes = run_at_once([hit] * PARALLEL)
    assert outcomes.count(False) == LIMIT, _backend()
    assert outcomes.count(True) == PARALLEL - LIMIT
    # Counted where the backend says: a row per key and window in the database, none in Redis.
    assert RateLimitCounter.objects.exists() == (_backend() != "redis")


@parallel
def test_parallel_hits_on_several_limits_count_each_exactly():
    def hit():
        return rate_limits_exceeded(
            Limit("parallel-ip", "192.0.2.78", LIMIT, 3600),
            Limit("parallel-address", "many@example.jp", LIMIT * 2, 3600),
        )

    outcomes = run_at_once([hit] * PARALLEL)
    assert [ip for ip, _ in outcomes].count(False) == LIMIT
    assert [address for _, address in outcomes].count(False) == LIMIT * 2


@parallel
def test_parallel_identity_submissions_for_one_address_pass_exactly_the_limit(settings):
    settings_limit = settings.IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR
    # The daily mail cap per address is another limit: here only the rate limit may refuse.
    settings.MAILS_PER_ADDRESS_PER_DAY = PARALLEL
    journeys = []
    for index in range(PARALLEL):
        journey = Journey(Client(REMOTE_ADDR=f"198.51.100.{index + 1}"))
        assert journey.agree().status_code == 302
        journeys.append(journey)

    def submit(journey):
        return lambda: journey.identity("target@example.jp").status_code

    outcomes = run_at_once([submit(journey) for journey in journeys])
    # Accepted submissions move on (302); refused ones stay on the page with the message.
    assert outcomes.count(302) == settings_limit, _backend()
    assert outcomes.count(200) == PARALLEL - settings_limit


def test_counters_of_windows_long_over_are_dropped(clock, _cache):
    if _backend() == "redis":
        pytest.skip("Redis expires its counters itself")
    assert rate_limit_exceeded("old", "192.0.2.90", limit=3, window_seconds=60) is False
    clock.advance(minutes=5)
    assert rate_limit_exceeded("new", "192.0.2.91", limit=3, window_seconds=60) is False
    assert list(RateLimitCounter.objects.values_list("count", flat=True)) == [1]
