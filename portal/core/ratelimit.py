"""Fixed-window counters in the shared cache (the database, or Redis when configured), so a
limit holds across processes and servers. Windows follow the service clock."""

import hashlib
from dataclasses import dataclass

from django.core.cache import caches
from django_redis.cache import RedisCache

from portal.core.clock import clock

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


def _hit(backend, cache_key: str, timeout: int) -> int:
    backend.add(cache_key, 0, timeout=timeout)
    try:
        return backend.incr(cache_key)
    except ValueError:  # evicted between add and incr
        backend.set(cache_key, 1, timeout=timeout)
        return 1


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
        counts = [_hit(backend, key, timeout) for key, timeout in zip(keys, timeouts, strict=True)]
    return [int(count) > limit.limit for count, limit in zip(counts, limits, strict=True)]


def rate_limit_exceeded(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Counts one hit for `key` and says whether it went over `limit` in this window."""
    return rate_limits_exceeded(Limit(scope, key, limit, window_seconds))[0]
