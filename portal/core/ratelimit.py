"""Fixed-window counters in the shared cache (the database, or Redis when configured), so a
limit holds across processes and servers. Windows follow the service clock."""

import hashlib

from django.core.cache import caches
from django_redis.cache import RedisCache

from portal.core.clock import clock

# On Redis one script counts the hit and starts the window's expiry in one round trip
# (django-redis's add, then incr, take two, and incr sends a script of its own each time).
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _redis_script(backend):
    """The counting script on the cache's Redis (kept on the cache object, which Django makes
    per thread), or None when the cache is not Redis."""
    script = getattr(backend, "_rate_limit_script", None)
    if script is None and isinstance(backend, RedisCache):
        script = backend.client.get_client(write=True).register_script(_HIT_SCRIPT)
        backend._rate_limit_script = script
    return script


def _hit(cache_key: str, timeout: int) -> int:
    backend = caches["default"]
    script = _redis_script(backend)
    if script is not None:
        # The key as django-redis writes it (prefix and version), as before the script.
        return int(script(keys=[backend.make_key(cache_key)], args=[timeout]))
    backend.add(cache_key, 0, timeout=timeout)
    try:
        return backend.incr(cache_key)
    except ValueError:  # evicted between add and incr
        backend.set(cache_key, 1, timeout=timeout)
        return 1


def rate_limit_exceeded(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Counts one hit for `key` and says whether it went over `limit` in this window."""
    window = int(clock.now().timestamp()) // window_seconds
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return _hit(f"rl:{scope}:{digest}:{window}", window_seconds * 2) > limit
