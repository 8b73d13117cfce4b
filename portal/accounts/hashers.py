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
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def argon2_slot():
    """Holds one of the host's ARGON2_CONCURRENCY slots (a free one if any, else the first to
    be freed); no limit when ARGON2_CONCURRENCY is 0. A slot file this process cannot
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


# The first waiter in line looks at the slots again after this long, doubling up to the cap:
# a freed slot stays free for at most about _POLL_MAX (a hash takes about 130 ms), and a long
# wait costs a few hundred system calls a second, by one process.
_POLL_FIRST, _POLL_MAX = 0.0002, 0.002


def _slot_try(fds: list[int]) -> int | None:
    for fd in fds:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        return fd
    return None


def _slot_take(paths: list[Path]) -> int:
    """Takes a free slot, or waits in line for whichever slot frees first. (Waiting on one
    busy slot picked in advance could leave a core idle: a slot freed while every waiter
    waits on the other one.)"""
    # Files opened for this attempt: flock(2) locks belong to the open file, so threads of one
    # process exclude each other as processes do.
    fds: list[int] = []
    taken = None
    try:
        for path in paths:
            fds.append(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        taken = _slot_try(fds)
        if taken is None:
            # Only the first in line looks at the slots; the others wait on the line's lock
            # and use no CPU.
            line = os.open(paths[0].parent / "line", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(line, fcntl.LOCK_EX)
                delay = _POLL_FIRST
                while (taken := _slot_try(fds)) is None:
                    time.sleep(delay)
                    delay = min(delay * 2, _POLL_MAX)
            finally:
                os.close(line)
        return taken
    finally:
        for fd in fds:
            if fd != taken:
                os.close(fd)


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
