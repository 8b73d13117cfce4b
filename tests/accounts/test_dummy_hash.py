"""Unknown and pending IDs cost the same password-hash work as a real one: exactly one Argon2
verification per login attempt, counted (never timed)."""

import pytest
from django.contrib.auth import get_user_model

from portal.accounts.hashers import TunedArgon2PasswordHasher
from portal.accounts.services.login import password_dummy_hash_prepare
from portal.jobseekers.models import JobSeeker
from tests.accounts.conftest import PASSWORD, login_post
from tests.browser_client import BrowserClient as Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = ["portal.accounts.hashers.TunedArgon2PasswordHasher"]
    # Cheap parameters keep the test fast; the code path is the production one.
    settings.ARGON2_TIME_COST = 1
    settings.ARGON2_MEMORY_COST_KIB = 64
    settings.ARGON2_PARALLELISM = 1


@pytest.fixture
def hasher_calls(monkeypatch):
    calls = {"verify": 0, "encode": 0}
    verify, encode = TunedArgon2PasswordHasher.verify, TunedArgon2PasswordHasher.encode

    def counting_verify(self, password, encoded):
        calls["verify"] += 1
        return verify(self, password, encoded)

    def counting_encode(self, password, salt):
        calls["encode"] += 1
        return encode(self, password, salt)

    monkeypatch.setattr(TunedArgon2PasswordHasher, "verify", counting_verify)
    monkeypatch.setattr(TunedArgon2PasswordHasher, "encode", counting_encode)
    return calls


def test_every_failure_path_does_one_argon2_verification(
    argon2, make_account, make_jobseeker, hasher_calls, no_otp
):
    active = make_account("active@example.jp")
    assert active.user.password.startswith("argon2$")
    make_jobseeker(email="pending@example.jp")  # pending: no account yet
    pending_with_user = make_jobseeker(email="pending2@example.jp")
    user = get_user_model().objects.create_user("pending2@example.jp", PASSWORD)
    JobSeeker.objects.filter(pk=pending_with_user.pk).update(user=user)
    password_dummy_hash_prepare()  # the dummy hash is made once per process
    cases = {
        "known ID, wrong password": ("active@example.jp", "Wrong#pass1"),
        "unknown ID": ("nobody@example.jp", "Wrong#pass1"),
        "pending ID": ("pending@example.jp", PASSWORD),
        "pending ID with an account row": ("pending2@example.jp", PASSWORD),
    }
    counts = {}
    for name, (login_id, password) in cases.items():
        hasher_calls.update(verify=0, encode=0)
        response = login_post(Client(), login_id, password)
        assert response.status_code == 200, name
        counts[name] = dict(hasher_calls)
    assert all(c == {"verify": 1, "encode": 0} for c in counts.values()), counts
    # A successful login does the same single verification.
    hasher_calls.update(verify=0, encode=0)
    assert login_post(Client(), "active@example.jp").status_code == 302
    assert hasher_calls == {"verify": 1, "encode": 0}


def test_dummy_hash_follows_the_configured_hasher(argon2, settings, hasher_calls, client):
    password_dummy_hash_prepare()
    hasher_calls.update(verify=0, encode=0)
    login_post(client, "nobody@example.jp", "Wrong#pass1")
    assert hasher_calls["verify"] == 1
    # Stronger parameters: the dummy hash is remade with them, then reused.
    settings.ARGON2_MEMORY_COST_KIB = 128
    login_post(client, "nobody@example.jp", "Wrong#pass1")
    login_post(client, "nobody@example.jp", "Wrong#pass1")
    assert hasher_calls == {"verify": 3, "encode": 1}
