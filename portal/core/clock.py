"""One injectable clock. Every deadline in the service is a stored timestamp compared with
`clock.now()`, so tests move time by moving this clock, never by touching the cache."""

import datetime as dt

from django.utils import timezone


class Clock:
    def __init__(self) -> None:
        self._frozen: dt.datetime | None = None

    def now(self) -> dt.datetime:
        return self._frozen if self._frozen is not None else timezone.now()

    def freeze(self, at: dt.datetime | None = None) -> dt.datetime:
        self._frozen = at or timezone.now()
        return self._frozen

    def advance(self, **delta: float) -> dt.datetime:
        self._frozen = self.now() + dt.timedelta(**delta)
        return self._frozen

    def unfreeze(self) -> None:
        self._frozen = None


clock = Clock()


def now() -> dt.datetime:
    """`clock.now()` as a plain function, for model field defaults (migrations can name it)."""
    return clock.now()
