"""Argon2id with parameters from settings, and at most ARGON2_CONCURRENCY hashes at once on
a host.

A hash works through 64 MiB of memory. With more hashes in progress than cores (2 × CPUs + 1
gunicorn workers during a burst of logins), they take turns on the cores and each turn starts
with caches and TLB full of another hash's memory: on the 2-core reference machine one hash
cost 142 ms of CPU inside the web workers under load, against 127 ms when no more hashes ran
than cores. So a hash waits for one of ARGON2_CONCURRENCY slots (default: the usable CPUs),
each a lock file in ARGON2_SLOTS_DIR taken with flock(2), which every process on the host sees
(gunicorn workers, the mail worker, management commands) and which is released when its file
is closed, even by a process that dies. Memory for hashes is bounded the same way.
"""

import contextlib
import fcntl
import logging
import os
import random
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def argon2_slot():
    """Holds one of the host's ARGON2_CONCURRENCY slots (a free one if any, else waits on one
    picked at random); no limit when ARGON2_CONCURRENCY is 0. A slot file this process cannot
    open (another user's, say) is a performance loss, not a reason to refuse a login: the hash
    then runs without a slot, and the error is logged."""
    count = settings.ARGON2_CONCURRENCY
    if count <= 0:
        yield
        return
    paths = [Path(settings.ARGON2_SLOTS_DIR) / f"slot-{n}" for n in range(count)]
    try:
        fd = _slot_take(paths)
    except OSError:
        logger.exception("Argon2 slot unavailable in %s; hashing without one", paths[0].parent)
        fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _slot_take(paths: list[Path]) -> int:
    # A file opened for each attempt: flock(2) locks belong to the open file, so threads of
    # one process exclude each other as processes do.
    for path in paths:
        candidate = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(candidate, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(candidate)
            continue
        return candidate
    # Which busy slot to wait on only spreads the waiters; it guards nothing.
    fd = os.open(random.choice(paths), os.O_RDWR | os.O_CREAT, 0o600)  # noqa: S311
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


class TunedArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with parameters from settings (README: "Password hashing")."""

    @property
    def time_cost(self):
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self):
        return settings.ARGON2_MEMORY_COST_KIB

    @property
    def parallelism(self):
        return settings.ARGON2_PARALLELISM

    def encode(self, password, salt):
        with argon2_slot():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with argon2_slot():
            return super().verify(password, encoded)
