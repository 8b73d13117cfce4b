"""Fixed-window counters shared by every process and server, so a limit holds across them:
in Redis when it is the cache (one script, atomic there), else in the database
(RateLimitCounter, a row per key and window counted up under the row's lock). Django's cache
`add()` + `incr()` is not atomic on the database cache: concurrent hits would read the same
count. Windows follow the service clock."""

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import F
from django_redis.cache import RedisCache

from portal.core.clock import clock
from portal.core.models import RateLimitCounter

# On Redis one script counts the hits of a request's limits and starts each window's expiry,
# in one round trip (django-redis's add, then incr, take two per limit, and incr sends a
# script of its own each time).
_HIT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    if count == 1 then redis.call('EXPIRE', key, ARGV[i]) end
    counts[i] = count
end
return counts
"""


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits for `key` in `scope` per window of `window_seconds`."""

    scope: str
    key: str
    limit: int
    window_seconds: int

    def cache_key(self) -> str:
        window = int(clock.now().timestamp()) // self.window_seconds
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"rl:{self.scope}:{digest}:{window}"


def _redis_script(backend):
    """The counting script on the cache's Redis (kept on the cache object, which Django makes
    per thread), or None when the cache is not Redis."""
    script = getattr(backend, "_rate_limit_script", None)
    if script is None and isinstance(backend, RedisCache):
        script = backend.client.get_client(write=True).register_script(_HIT_SCRIPT)
        backend._rate_limit_script = script
    return script


def _hit_database(key: str, timeout: int) -> int:
    """Counts one hit for `key` in the database and returns the count after it. The UPDATE
    takes the row's lock until the transaction ends, so a concurrent hit waits and then
    counts on top of this one; the first hit of a window inserts the row, and an insert that
    loses the race to another one counts with an UPDATE instead."""
    now = clock.now()
    counters = RateLimitCounter.objects.filter(key=key)
    created = False
    with transaction.atomic():
        if not counters.update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    RateLimitCounter.objects.create(
                        key=key, count=1, expires_at=now + dt.timedelta(seconds=timeout)
                    )
                created = True
            except IntegrityError:
                counters.update(count=F("count") + 1)
        count = 1 if created else counters.values_list("count", flat=True).get()
    if created:
        # A new window began for this key: drop the counters of windows long over.
        RateLimitCounter.objects.filter(expires_at__lt=now).delete()
    return count


def rate_limits_exceeded(*limits: Limit) -> list[bool]:
    """Counts one hit against each limit; says for each whether it went over in its window.
    Every limit is counted, whether or not another one is over."""
    backend = caches["default"]
    keys = [limit.cache_key() for limit in limits]
    timeouts = [limit.window_seconds * 2 for limit in limits]
    script = _redis_script(backend)
    if script is not None:
        # The keys as django-redis writes them (prefix and version).
        counts = script(keys=[backend.make_key(key) for key in keys], args=timeouts)
    else:
        counts = [_hit_database(key, timeout) for key, timeout in zip(keys, timeouts, strict=True)]
    return [int(count) > limit.limit for count, limit in zip(counts, limits, strict=True)]


def rate_limit_exceeded(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Counts one hit for `key` and says whether it went over `limit` in this window."""
    return rate_limits_exceeded(Limit(scope, key, limit, window_seconds))[0]


def rate_limits_clear() -> None:
    """Forgets every counter, in Redis and in the database (tests; an operator after an
    incident)."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        backend.delete_pattern("rl:*")
    RateLimitCounter.objects.all().delete()
