"""The password hasher is Django's Argon2id with its three parameters from settings: a hash
carries the parameters it was made with, one made with other parameters is rehashed at the
next successful login, and hashes made before (same encoded form) still verify."""

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from portal.accounts.hashers import TunedArgon2PasswordHasher
from tests.accounts.conftest import PASSWORD, login_post
from tests.browser_client import BrowserClient as Client

ARGON2 = ["portal.accounts.hashers.TunedArgon2PasswordHasher"]

# Made by the hasher this project used before this one (its own call into libargon2, with
# t=3, m=65536 KiB, p=1), for the password below.
EARLIER_HASH = (
    "argon2$argon2id$v=19$m=65536,t=3,p=1$Yk9MS2RPSU5pd2poaHk4U1lNSWt6Yg$"
    "QAZ70h40AIJ3ViQa+LUv8W3r2QPKzLP6leETU5jETBQ"
)
EARLIER_PASSWORD = "Kaede#2026xyz"


def _parameters(encoded: str) -> tuple[int, int, int]:
    decoded = identify_hasher(encoded).decode(encoded)
    return decoded["time_cost"], decoded["memory_cost"], decoded["parallelism"]


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = ARGON2
    settings.ARGON2_TIME_COST = 1
    settings.ARGON2_MEMORY_COST_KIB = 64
    settings.ARGON2_PARALLELISM = 1
    return settings


def test_a_hash_is_made_with_the_settings_parameters(argon2):
    argon2.ARGON2_TIME_COST, argon2.ARGON2_MEMORY_COST_KIB, argon2.ARGON2_PARALLELISM = 2, 256, 2
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$v=19$m=256,t=2,p=2$")
    assert _parameters(encoded) == (2, 256, 2)
    assert isinstance(identify_hasher(encoded), TunedArgon2PasswordHasher)
    assert check_password(PASSWORD, encoded)
    assert not check_password("Wrong#pass1", encoded)

    argon2.ARGON2_TIME_COST, argon2.ARGON2_MEMORY_COST_KIB, argon2.ARGON2_PARALLELISM = 1, 128, 1
    assert _parameters(make_password(PASSWORD)) == (1, 128, 1)


def test_a_hash_made_with_other_parameters_must_be_updated(argon2):
    hasher = identify_hasher(make_password(PASSWORD))
    encoded = make_password(PASSWORD)
    assert not hasher.must_update(encoded)
    for name, value in (
        ("ARGON2_TIME_COST", 2),
        ("ARGON2_MEMORY_COST_KIB", 128),
        ("ARGON2_PARALLELISM", 2),
    ):
        old = getattr(argon2, name)
        setattr(argon2, name, value)
        assert hasher.must_update(encoded), name
        setattr(argon2, name, old)
    assert not hasher.must_update(encoded)


@pytest.mark.django_db
def test_a_login_rehashes_a_hash_made_with_other_parameters(argon2, account, no_otp):
    user = account.user
    user.set_password(PASSWORD)
    user.save()
    assert _parameters(user.password) == (1, 64, 1)
    argon2.ARGON2_MEMORY_COST_KIB = 128  # the operator raised the parameters

    login_post(Client(), account.email, "Wrong#pass1")
    user.refresh_from_db()
    assert _parameters(user.password) == (1, 64, 1)  # a wrong password changes nothing

    assert login_post(Client(), account.email).status_code == 302
    user.refresh_from_db()
    assert _parameters(user.password) == (1, 128, 1)
    assert check_password(PASSWORD, user.password)


def test_a_hash_made_before_still_verifies_and_needs_no_update(settings):
    settings.PASSWORD_HASHERS = ARGON2
    settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_COST_KIB = 3, 65536
    settings.ARGON2_PARALLELISM = 1
    assert identify_hasher(EARLIER_HASH).algorithm == "argon2"
    assert check_password(EARLIER_PASSWORD, EARLIER_HASH)
    assert not check_password(PASSWORD, EARLIER_HASH)
    assert not identify_hasher(EARLIER_HASH).must_update(EARLIER_HASH)
