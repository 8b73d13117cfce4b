"""At most ARGON2_CONCURRENCY Argon2 hashes run at once on a host (portal/accounts/hashers.py),
across threads and processes; a hash waits for a slot rather than failing."""

import fcntl
import os
import stat
import threading
import time

import pytest
from django.contrib.auth.hashers import check_password, make_password

from portal.accounts import hashers
from tests.threads import run_at_once

ARGON2 = ["portal.accounts.hashers.TunedArgon2PasswordHasher"]


@pytest.fixture
def argon2(settings, tmp_path):
    """The production hasher at OWASP's minimum cost, with slots in a folder of this test."""
    settings.PASSWORD_HASHERS = ARGON2
    settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_COST_KIB = 2, 19456
    settings.ARGON2_PARALLELISM = 1
    settings.ARGON2_SLOTS_DIR = tmp_path
    return settings


@pytest.fixture
def hashing_intervals(monkeypatch):
    """(start, end) of every Argon2 computation, as the argon2 library runs it."""
    intervals = []
    lock = threading.Lock()
    original = hashers.argon2id_raw

    def timed(password, salt, params):
        started = time.monotonic()
        try:
            return original(password, salt, params)
        finally:
            with lock:
                intervals.append((started, time.monotonic()))

    monkeypatch.setattr(hashers, "argon2id_raw", timed)
    return intervals


def _most_at_once(intervals) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def _hash_in_threads(threads: int, each: int) -> None:
    def work():
        for _ in range(each):
            encoded = make_password("Slot#2026pass")
            assert check_password("Slot#2026pass", encoded)

    run_at_once([work] * threads)


def _hash_in_thread(work=lambda: make_password("Slot#2026pass")):
    """Runs `work` (by default a hash) in a thread; returns it and an event set when done."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: (work(), done.set()))
    thread.start()
    return thread, done


def test_one_slot_runs_hashes_one_at_a_time(argon2, hashing_intervals):
    argon2.ARGON2_CONCURRENCY = 1
    _hash_in_threads(threads=4, each=2)
    assert len(hashing_intervals) == 16  # each: a hash and its check
    assert _most_at_once(hashing_intervals) == 1


def test_two_slots_let_two_hashes_run_together(argon2, monkeypatch):
    argon2.ARGON2_CONCURRENCY = 2
    both_inside = threading.Barrier(2, timeout=10)  # broken unless two hash at the same time
    original = hashers.argon2id_raw
    met = []

    def meet(password, salt, params):
        met.append(both_inside.wait())
        return original(password, salt, params)

    monkeypatch.setattr(hashers, "argon2id_raw", meet)
    _hash_in_threads(threads=2, each=1)
    assert sorted(met) == [0, 0, 1, 1]  # both hashes, then both checks, met inside


def test_a_slot_held_by_another_process_makes_the_hash_wait_for_it(argon2, tmp_path, monkeypatch):
    """Also a process that dies holding a slot: it frees the slot without writing to the
    FIFO, and the waiter looks again after _WAKE_FALLBACK."""
    argon2.ARGON2_CONCURRENCY = 1
    monkeypatch.setattr(hashers, "_WAKE_FALLBACK", 0.05)
    # A separate open file with flock(2) on it: how another process on the host holds a slot.
    held = os.open(tmp_path / "slot-0", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    thread, done = _hash_in_thread()
    try:
        assert not done.wait(0.5)  # waiting, not failing
    finally:
        os.close(held)  # the other process ends (or dies): its lock goes with the file
    assert done.wait(30)
    thread.join()
    assert stat.S_ISFIFO(os.stat(tmp_path / "freed").st_mode)


def test_no_limit_when_concurrency_is_zero(argon2, tmp_path):
    argon2.ARGON2_CONCURRENCY = 0
    held = os.open(tmp_path / "slot-0", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        assert check_password("Slot#2026pass", make_password("Slot#2026pass"))
    finally:
        os.close(held)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slot-0"]


def test_a_verification_waits_for_a_slot_too(argon2, tmp_path):
    encoded = make_password("Slot#2026pass")
    argon2.ARGON2_CONCURRENCY = 1
    held = os.open(tmp_path / "slot-0", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    thread, done = _hash_in_thread(lambda: check_password("Slot#2026pass", encoded))
    try:
        assert not done.wait(0.5)
    finally:
        os.close(held)
    assert done.wait(30)
    thread.join()


def test_a_slot_file_that_cannot_be_opened_does_not_refuse_the_login(argon2, tmp_path, caplog):
    argon2.ARGON2_CONCURRENCY = 1
    (tmp_path / "slot-0").mkdir()  # not a file this process can open for writing
    assert check_password("Slot#2026pass", make_password("Slot#2026pass"))
    assert "Argon2 slot unavailable" in caplog.text


def test_a_waiting_hash_takes_whichever_slot_is_freed(argon2, tmp_path):
    argon2.ARGON2_CONCURRENCY = 2
    for freed in (0, 1, 0, 1, 1, 0, 1, 0):
        # Both slots held elsewhere; then one of them is released and the other stays held.
        held = []
        for n in range(2):
            held.append(os.open(tmp_path / f"slot-{n}", os.O_RDWR | os.O_CREAT, 0o600))
            fcntl.flock(held[n], fcntl.LOCK_EX)
        thread, done = _hash_in_thread()
        try:
            assert not done.wait(0.05)
        finally:
            os.close(held[freed])
        try:
            assert done.wait(30), f"the hash did not take slot {freed}"
        finally:
            os.close(held[1 - freed])  # lets a hash stuck on it finish
            thread.join()


def _cpus_while_hashing(monkeypatch) -> list:
    seen = []
    original = hashers.argon2id_raw

    def record(password, salt, params):
        seen.append(os.sched_getaffinity(0))
        return original(password, salt, params)

    monkeypatch.setattr(hashers, "argon2id_raw", record)
    return seen


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two usable CPUs")
def test_a_hash_runs_on_its_slots_cpu_and_the_thread_gets_its_cpus_back(
    argon2, tmp_path, monkeypatch
):
    argon2.ARGON2_CONCURRENCY = 2
    usable = os.sched_getaffinity(0)
    seen = _cpus_while_hashing(monkeypatch)
    make_password("Slot#2026pass")  # both slots free: slot 0
    held = os.open(tmp_path / "slot-0", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        make_password("Slot#2026pass")  # slot 0 taken elsewhere: slot 1
    finally:
        os.close(held)
    assert seen == [{sorted(usable)[0]}, {sorted(usable)[1]}]
    assert os.sched_getaffinity(0) == usable


def test_pinning_can_be_turned_off(argon2, monkeypatch):
    argon2.ARGON2_CONCURRENCY, argon2.ARGON2_PIN_CPUS = 2, False
    seen = _cpus_while_hashing(monkeypatch)
    make_password("Slot#2026pass")
    assert seen == [os.sched_getaffinity(0)]


def _slot_looks(monkeypatch) -> list:
    """One entry each time a waiting hash looks at the slots."""
    looks = []
    original = hashers._slot_try

    def counted(fds):
        looks.append(1)
        return original(fds)

    monkeypatch.setattr(hashers, "_slot_try", counted)
    return looks


def test_a_freed_slot_wakes_the_first_waiter_which_does_not_poll(argon2, monkeypatch):
    argon2.ARGON2_CONCURRENCY = 1
    # No looking again on a timer: only the freeing hash's notice can wake the waiter.
    monkeypatch.setattr(hashers, "_WAKE_FALLBACK", 600)
    looks = _slot_looks(monkeypatch)
    release = threading.Event()

    def hold_a_slot():
        with hashers.argon2_slot():
            release.wait(30)

    holder = threading.Thread(target=hold_a_slot)
    holder.start()
    while not looks:  # the holder has looked once and taken the slot
        time.sleep(0.01)
    thread, done = _hash_in_thread()
    try:
        assert not done.wait(0.5)
        waiting_looks = len(looks) - 1
        # It looked once and sleeps on the FIFO; polling every 0.2-2 ms would have looked
        # hundreds of times in half a second.
        assert waiting_looks <= 2
    finally:
        release.set()
        holder.join()
    assert done.wait(30)
    thread.join()


def test_without_a_fifo_the_waiter_polls(argon2, tmp_path, monkeypatch):
    argon2.ARGON2_CONCURRENCY = 1
    (tmp_path / "freed").mkdir()  # the FIFO's name taken by something that is not one
    looks = _slot_looks(monkeypatch)
    held = os.open(tmp_path / "slot-0", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    thread, done = _hash_in_thread()
    try:
        assert not done.wait(0.3)
        assert len(looks) > 10  # every 0.2-2 ms
    finally:
        os.close(held)
    assert done.wait(30)
    thread.join()
