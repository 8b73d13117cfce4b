"""Sessions in Redis (SESSION_ENGINE with REDIS_URL) with one round trip per write.

Django's cache store asks Redis whether a key is taken before creating a session (EXISTS) and
whether the session still exists before each save (GET, then SET). Redis answers both with the
write itself: SET NX creates (a taken key fails and create() draws another, as in Django's
store) and SET XX saves only a session that still exists, so a session ended meanwhile (a
logout in another tab) is not brought back and the request gets Django's SessionInterrupted,
as with Django's store. A login writes its session in two round trips instead of five.
"""

import base64
import secrets

from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore


class SessionStore(CacheSessionStore):
    def _get_new_session_key(self):
        # 160 random bits as 32 characters of Django's alphabet (a-z, 2-7 of base32), in one
        # call instead of get_random_string's 32. No EXISTS: save(must_create=True) finds a
        # taken key (SET NX) and create() draws again.
        return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()

    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        written = self._cache.set(
            self.cache_key,
            self._get_session(no_load=must_create),
            self.get_expiry_age(),
            nx=must_create,
            xx=not must_create,
        )
        if not written:
            raise CreateError if must_create else UpdateError
