"""The one module for mailed codes (the registration and reset key, the login one-time
password): what each caller relies on."""

import datetime as dt
import hashlib
import hmac

import pytest
from django.conf import settings

from portal.core.mailed_codes import (
    CodeRules,
    code_digest,
    code_expired,
    code_generate,
    code_matches,
    code_resend_check,
    code_wrong_try,
)
from portal.core.refusal import Reason, Refused

RULES = CodeRules(
    digits=6,
    lifetime=dt.timedelta(minutes=10),
    max_wrong=3,
    resend_cooldown=dt.timedelta(seconds=60),
    max_resends=2,
)
T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


def test_a_code_has_the_callers_digits():
    codes = {code_generate(RULES) for _ in range(50)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 1


def test_a_digest_matches_only_its_namespace_row_and_code():
    stored = code_digest("auth-key:register", 7, "123456")
    assert code_matches(stored, "auth-key:register", 7, "123456")
    assert not code_matches(stored, "auth-key:register", 7, "123457")
    assert not code_matches(stored, "auth-key:reset", 7, "123456")
    assert not code_matches(stored, "auth-key:register", 8, "123456")
    assert not code_matches(None, "auth-key:register", 7, "123456")


def test_the_registration_key_digest_is_the_one_stored_before():
    # Flows in progress keep working across the change: same message, same key.
    message = b"auth-key:register:7:123456"
    before = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    assert code_digest("auth-key:register", 7, "123456") == before


def test_wrong_tries_count_down_to_none_left():
    assert code_wrong_try(0, RULES) == (1, 2)
    assert code_wrong_try(1, RULES) == (2, 1)
    assert code_wrong_try(2, RULES) == (3, 0)


def test_a_code_expires_after_its_lifetime():
    assert not code_expired(T0, RULES, T0 + dt.timedelta(minutes=10))
    assert code_expired(T0, RULES, T0 + dt.timedelta(minutes=10, seconds=1))


def test_a_resend_waits_for_the_cool_down():
    with pytest.raises(Refused) as refused:
        code_resend_check(RULES, resends=0, last_sent_at=T0, now=T0 + dt.timedelta(seconds=15))
    assert refused.value.reason == Reason.RESEND_TOO_SOON
    assert refused.value.wait_seconds == 45
    code_resend_check(RULES, resends=0, last_sent_at=T0, now=T0 + dt.timedelta(seconds=60))
    code_resend_check(RULES, resends=0, last_sent_at=T0, now=T0, cooldown=False)


def test_a_resend_past_the_quota_is_refused_and_no_quota_means_none():
    with pytest.raises(Refused) as refused:
        code_resend_check(RULES, resends=2, last_sent_at=None, now=T0)
    assert refused.value.reason == Reason.RESEND_LIMIT
    unlimited = CodeRules(6, dt.timedelta(minutes=10), 3, dt.timedelta(seconds=60))
    code_resend_check(unlimited, resends=100, last_sent_at=None, now=T0)
