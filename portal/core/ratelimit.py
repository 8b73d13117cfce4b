"""Fixed-window counters in the shared cache (the database, or Redis when configured), so a
limit holds across processes and servers. Windows follow the service clock."""

import hashlib

from django.core.cache import cache

from portal.core.clock import clock


def rate_limit_exceeded(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Counts one hit for `key` and says whether it went over `limit` in this window."""
    window = int(clock.now().timestamp()) // window_seconds
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"rl:{scope}:{digest}:{window}"
    cache.add(cache_key, 0, timeout=window_seconds * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window_seconds * 2)
        count = 1
    return count > limit
