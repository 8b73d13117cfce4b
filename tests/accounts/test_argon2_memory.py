"""The production hasher computes Argon2id with its memory in huge pages
(portal/accounts/hashers.py): the same hashes as argon2-cffi and Django, and no memory kept."""

import re
import resource
from pathlib import Path

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

from portal.accounts import hashers

SALT = "abcdefghijklmnopqrstuv"


@pytest.fixture
def hasher(settings):
    settings.ARGON2_CONCURRENCY = 0
    settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_COST_KIB = 2, 19456
    settings.ARGON2_PARALLELISM = 1
    return hashers.TunedArgon2PasswordHasher()


def test_the_hash_is_the_one_django_and_argon2_cffi_make(hasher, settings):
    assert hashers._HUGE_PAGES  # Linux: the huge-page path is the one under test
    for password, parallelism in (("Pass#2026word", 1), ("パスワード　全角 2026", 2)):
        settings.ARGON2_PARALLELISM = parallelism
        encoded = hasher.encode(password, SALT)
        assert encoded == Argon2PasswordHasher.encode(hasher, password, SALT)
        assert re.fullmatch(r"argon2\$argon2id\$v=19\$m=19456,t=2,p=\d\$[\w+/]+\$[\w+/]+", encoded)


def test_verification_accepts_the_right_password_only(hasher):
    mine = hasher.encode("Pass#2026word", SALT)
    djangos = Argon2PasswordHasher.encode(hasher, "Pass#2026word", SALT)
    for encoded in (mine, djangos):
        assert hasher.verify("Pass#2026word", encoded)
        assert not hasher.verify("Pass#2026worD", encoded)
        assert not hasher.verify("", encoded)


def test_other_argon2_hashes_are_verified_by_the_library(hasher):
    # Argon2i, and a hash argon2-cffi made with its own salt and hash lengths.
    for kind, salt, length in ((argon2.Type.I, b"saltsalt", 32), (argon2.Type.ID, b"s" * 16, 16)):
        rest = argon2.low_level.hash_secret(b"Pass#2026word", salt, 1, 64, 1, length, kind)
        encoded = "argon2" + rest.decode()
        assert hasher.verify("Pass#2026word", encoded)
        assert not hasher.verify("wrong", encoded)


def test_malformed_hashes_get_the_libraries_answer(hasher):
    good = hasher.encode("Pass#2026word", SALT)
    for broken in (
        good[:-8],
        good.replace("$v=19", "$v=16"),
        good.rsplit("$", 1)[0] + "$",
        "argon2$argon2id$v=19$m=19456,t=2,p=1$!!!$abc",
    ):
        assert hasher.verify("Pass#2026word", broken) is False
    with pytest.raises(argon2.exceptions.InvalidHashError):
        hasher.verify("Pass#2026word", "argon2$garbage")


def _mappings() -> int:
    return len(Path("/proc/self/maps").read_text().splitlines())


def test_each_hash_gives_its_memory_back(hasher):
    hasher.encode("warm", SALT)
    before = _mappings()
    for _ in range(5):
        hasher.verify("Pass#2026word", hasher.encode("Pass#2026word", SALT))
    assert hashers._regions == {}
    assert _mappings() <= before + 2  # unrelated allocations may come and go


def test_the_memory_comes_in_huge_pages_where_the_kernel_offers_them(hasher, settings):
    enabled = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not enabled.exists() or "[never]" in enabled.read_text():
        pytest.skip("transparent huge pages are off on this machine")
    settings.ARGON2_MEMORY_COST_KIB = 65536
    hasher.encode("warm", SALT)
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    hasher.encode("Pass#2026word", SALT)
    faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before
    # 4 KiB pages would take 16,384 faults for 64 MiB; 2 MiB pages take 32.
    assert faults < 2000
