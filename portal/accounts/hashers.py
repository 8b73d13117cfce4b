"""Argon2id with parameters from settings, at most ARGON2_CONCURRENCY hashes at once on a
host, and each hash's memory in huge pages (below).

A hash works through 64 MiB of memory. With more hashes in progress than cores (2 × CPUs + 1
gunicorn workers during a burst of logins), they take turns on the cores and each turn starts
with caches and TLB full of another hash's memory: on the 2-core reference machine one hash
cost 142 ms of CPU inside the web workers under load, against 127 ms when no more hashes ran
than cores (4 KiB pages). So a hash waits for one of ARGON2_CONCURRENCY slots (default: the
usable CPUs), each a lock file in ARGON2_SLOTS_DIR taken with flock(2), which every process on
the host sees (gunicorn workers, the mail worker, management commands) and which is released
when its file is closed, even by a process that dies. Memory for hashes is bounded the same
way.
"""

import base64
import contextlib
import fcntl
import hmac
import logging
import mmap
import os
import select
import stat
import time
from pathlib import Path

from argon2 import extract_parameters
from argon2.exceptions import HashingError
from argon2.low_level import ARGON2_VERSION, Type, core, error_to_str, ffi
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
        fd, slot = _slot_take(paths)
    except OSError:
        logger.exception("Argon2 slot unavailable in %s; hashing without one", paths[0].parent)
        fd = slot = None
    # Slot n hashes on the n-th usable CPU: moved between cores by the scheduler, a hash
    # restarts with cold caches each time (whole flows: 7.4/s unpinned, 8.3/s pinned).
    pinned = None
    try:
        if fd is not None and settings.ARGON2_PIN_CPUS:
            pinned = _pin(slot)
        yield
    finally:
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
        if fd is not None:
            os.close(fd)  # releases the lock
            _slot_freed_notify(paths[0].parent)


def _pin(slot: int) -> set[int] | None:
    """Pins the calling thread to the CPU of `slot`; returns the CPUs it had (None: unpinned)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    usable = os.sched_getaffinity(0)
    if len(usable) < 2:
        return None
    try:
        os.sched_setaffinity(0, {sorted(usable)[slot % len(usable)]})
    except OSError:  # a CPU gone offline, a cgroup that changed: hash where the kernel likes
        return None
    return usable


# The first waiter in line sleeps on a FIFO in the slots directory, which a process writes to
# when it frees a slot: it wakes as soon as a slot is free, without polling. (Looking at the
# slots every 0.2-2 ms instead cost a waiting login 3.3 ms of CPU per hash on the 2-core
# reference machine, and left a freed core idle for up to 2 ms.) A process that dies frees
# its slot without writing: the waiter looks at the slots again after _WAKE_FALLBACK seconds
# anyway. Where no FIFO can be made, the waiter polls as before.
_WAKE_FIFO = "freed"
_WAKE_FALLBACK = 0.05
_POLL_FIRST, _POLL_MAX = 0.0002, 0.002


def _slot_try(fds: list[int]) -> int | None:
    for fd in fds:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        return fd
    return None


def _slot_take(paths: list[Path]) -> tuple[int, int]:
    """Takes a free slot, or waits in line for whichever slot frees first; returns the open
    file that holds it and its number. (Waiting on one busy slot picked in advance could leave
    a core idle: a slot freed while every waiter waits on the other one.)"""
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
                taken = _slot_wait(fds, paths[0].parent)
            finally:
                os.close(line)
        return taken, fds.index(taken)
    finally:
        for fd in fds:
            if fd != taken:
                os.close(fd)


def _slot_wait(fds: list[int], directory: Path) -> int:
    """The first in line: takes the first slot freed."""
    wake = _wake_open(directory)
    if wake is None:
        delay = _POLL_FIRST
        while (taken := _slot_try(fds)) is None:
            time.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)
        return taken
    try:
        notices = select.poll()
        notices.register(wake, select.POLLIN)
        # The FIFO is open before the slots are looked at: a slot freed after this look
        # writes to it, one freed before is found by the look.
        while (taken := _slot_try(fds)) is None:
            if notices.poll(_WAKE_FALLBACK * 1000):
                with contextlib.suppress(BlockingIOError):
                    os.read(wake, 512)  # every notice so far: the slots are looked at next
        return taken
    finally:
        os.close(wake)


def _wake_open(directory: Path) -> int | None:
    """The slots directory's FIFO (made if missing), open for reading, or None if it cannot
    be had (a filesystem without FIFOs, a file of that name that is not one)."""
    path = directory / _WAKE_FIFO
    try:
        with contextlib.suppress(FileExistsError):
            os.mkfifo(path, 0o600)
        # Read and write (Linux): the waiter is a writer too, so the FIFO never reports
        # "hung up" after a notifier closes it, which would make every poll return at once.
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _slot_freed_notify(directory: Path) -> None:
    """Wakes the first waiter in line, if there is one. Without a reader, opening the FIFO
    fails at once (ENXIO), so a hash that nobody waits for costs one failed open()."""
    try:
        fd = os.open(directory / _WAKE_FIFO, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no waiter, or no FIFO
        return
    try:
        os.write(fd, b"\0")
    except OSError:  # a full pipe already wakes the reader; a reader gone needs no notice
        pass
    finally:
        os.close(fd)


# --- Argon2 memory in huge pages --------------------------------------------------------------
#
# libargon2 takes a hash's 64 MiB with malloc(), which maps fresh memory for each hash: 16,384
# page faults, each zeroing 4 KiB, were a fifth of a hash's CPU (26 of 126 ms), and 4 KiB pages
# leave the TLB covering a sliver of memory read at random. The same memory mapped privately
# and advised into transparent huge pages (2 MiB) takes 32 faults: about 100 ms per hash, same
# parameters, same result. libargon2 still wipes the memory before handing it back.
# Without MADV_HUGEPAGE (not Linux) or when libffi callbacks cannot be made, argon2-cffi's
# own functions are used.

_ARGON2_MEMORY_ALLOCATION_ERROR = -22
_ARGON2_DEFAULT_FLAGS = 0  # argon2.h: clear neither password nor secret (Python owns both)
_ARGON2_ID = Type.ID.value
_regions: dict[int, tuple[mmap.mmap, object]] = {}  # address -> (mapping, exported pointer)


def _allocate(memory, size: int) -> int:
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    with contextlib.suppress(OSError):  # THP off: ordinary pages, still one mapping
        region.madvise(mmap.MADV_HUGEPAGE)
    pointer = ffi.from_buffer("uint8_t[]", region)
    _regions[int(ffi.cast("uintptr_t", pointer))] = (region, pointer)
    memory[0] = pointer
    return 0


def _deallocate(memory, size: int) -> None:
    region, pointer = _regions.pop(int(ffi.cast("uintptr_t", memory)))
    ffi.release(pointer)
    region.close()


try:
    _ALLOCATE = ffi.callback(
        "int(uint8_t **, size_t)", _allocate, error=_ARGON2_MEMORY_ALLOCATION_ERROR
    )
    _DEALLOCATE = ffi.callback("void(uint8_t *, size_t)", _deallocate)
    _HUGE_PAGES = hasattr(mmap, "MADV_HUGEPAGE")
except (MemoryError, OSError, RuntimeError):  # libffi refused a callback (W^X policies)
    _HUGE_PAGES = False


def argon2id_raw(password: bytes, salt: bytes, params) -> bytes:
    """The raw Argon2id hash of `password` (version 19) with `params` (time_cost,
    memory_cost, parallelism, hash_len), its memory in huge pages."""
    out = ffi.new("uint8_t[]", params.hash_len)
    pwd, salt_c = ffi.new("uint8_t[]", password), ffi.new("uint8_t[]", salt)
    context = ffi.new(
        "argon2_context *",
        {
            "out": out,
            "outlen": params.hash_len,
            "pwd": pwd,
            "pwdlen": len(password),
            "salt": salt_c,
            "saltlen": len(salt),
            "secret": ffi.NULL,
            "secretlen": 0,
            "ad": ffi.NULL,
            "adlen": 0,
            "t_cost": params.time_cost,
            "m_cost": params.memory_cost,
            "lanes": params.parallelism,
            "threads": params.parallelism,
            "version": ARGON2_VERSION,
            "allocate_cbk": _ALLOCATE,
            "free_cbk": _DEALLOCATE,
            "flags": _ARGON2_DEFAULT_FLAGS,
        },
    )
    error = core(context, _ARGON2_ID)
    if error:
        raise HashingError(error_to_str(error))
    return bytes(ffi.buffer(out, params.hash_len))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class TunedArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with parameters from settings (README: "Password hashing"), at most
    ARGON2_CONCURRENCY at once, its memory in huge pages. The encoded form is Django's own, so
    hashes move freely between this hasher and Django's."""

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
            if not _HUGE_PAGES:
                return super().encode(password, salt)
            params = self.params()
            raw = argon2id_raw(password.encode(), salt.encode(), params)
            return (
                f"{self.algorithm}$argon2id$v={ARGON2_VERSION}$m={params.memory_cost},"
                f"t={params.time_cost},p={params.parallelism}${_b64(salt.encode())}${_b64(raw)}"
            )

    def verify(self, password, encoded):
        with argon2_slot():
            parts = _argon2id_parts(encoded, self.algorithm) if _HUGE_PAGES else None
            if parts is None:
                return super().verify(password, encoded)  # anything else: the library's way
            params, salt, expected = parts
            return hmac.compare_digest(argon2id_raw(password.encode(), salt, params), expected)


def _argon2id_parts(encoded: str, algorithm: str):
    """(parameters, salt, hash) of a well-formed Argon2id (version 19) hash, else None."""
    try:
        prefix, rest = encoded.split("$", 1)
        params = extract_parameters("$" + rest)
        *_, salt, expected = rest.split("$")
        salt, expected = _unb64(salt), _unb64(expected)
    except (ValueError, TypeError):  # binascii.Error and InvalidHashError are ValueErrors
        return None
    if (
        prefix != algorithm
        or params.type != Type.ID
        or params.version != ARGON2_VERSION
        or len(salt) < 8  # libargon2's minimums: the library answers those
        or len(expected) < 4
    ):
        return None
    return params, salt, expected
