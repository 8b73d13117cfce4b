"""② answers the same whatever the register holds: same page, same cookies, same database work,
and every limit answers the same for an address that exists and one that does not. In
Japanese and in English: ② never writes the job seeker's own language."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.core.ratelimit import rate_limits_clear
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from tests.registration.journey import Journey, deliver_mail

pytestmark = pytest.mark.django_db

CASES = {
    "pending_match": ("pending@example.jp", "1990-04-01"),
    "active_match": ("active@example.jp", "1990-04-01"),
    "wrong_birth_date": ("pending@example.jp", "1991-05-02"),
    "unknown": ("nobody@example.jp", "1990-04-01"),
}


@pytest.fixture
def register(make_jobseeker):
    make_jobseeker(email="pending@example.jp")
    active = make_jobseeker(email="active@example.jp")
    JobSeeker.objects.filter(pk=active.pk).update(status=JobSeeker.Status.ACTIVE)


def _normalised(html: str) -> str:
    # The only per-flow differences on screen: the address typed, the reference, the token.
    html = re.sub(r"[a-z]+@example\.jp", "ADDRESS", html)
    html = re.sub(r"[A-Z0-9]{4}-[A-Z0-9]{4}", "REF", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)


def _submit(email, birth_date, language="ja"):
    journey = Journey(language=language)
    journey.agree()
    with CaptureQueriesContext(connection) as queries:
        response = journey.identity(email, birth_date)
    captured = list(queries.captured_queries)  # read now: the next request clears the log
    page = journey.client.get(response.url)
    return journey, response, captured, page


def _register_rows():
    return list(JobSeeker.objects.order_by("pk").values())


@pytest.mark.parametrize("language", ["ja", "en"])
def test_identity_answers_alike_for_all_four_cases(register, smtp_server, language):
    seen = {}
    register_before = _register_rows()
    for case, (email, birth_date) in CASES.items():
        cache.clear()  # each case from the same limiter state; only the register differs
        rate_limits_clear()
        _journey, response, queries, page = _submit(email, birth_date, language)
        assert f'<html lang="{language}">' in page.content.decode()
        seen[case] = {
            "status": response.status_code,
            "location": response.url,
            "cookies": sorted(response.cookies.keys()),
            "queries": len(queries),
            "statements": [q["sql"].split()[0] for q in queries],
            "page": _normalised(page.content.decode()),
            "outbox_rows": OutboundMail.objects.filter(to=email).count(),
            "writes": [
                q["sql"].split()[0] + " " + q["sql"].split()[2]
                for q in queries
                if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
            ],
        }
        OutboundMail.objects.filter(to=email).delete()  # so each case starts alike
    # Nothing about any job seeker changed, their own language included.
    assert _register_rows() == register_before
    first = seen["pending_match"]
    assert first["status"] == 302 and first["location"] == reverse("registration:password")
    for case, observed in seen.items():
        assert observed == first, case


def test_which_mail_each_case_gets(register, smtp_server):
    for email, birth_date in CASES.values():
        _submit(email, birth_date)
    deliver_mail()
    subjects = {m["To"]: [] for m in smtp_server.messages}
    for message in smtp_server.messages:
        subjects[message["To"]].append(message["Subject"].strip())
    assert subjects["pending@example.jp"] == [
        "パスワード登録申込受付通知",
        "求職者マイページの申込みについてのお知らせ",
    ]
    assert subjects["active@example.jp"] == ["求職者マイページ開設済みのお知らせ"]
    assert "nobody@example.jp" not in subjects
    assert OutboundMail.objects.get(to="nobody@example.jp").status == "suppressed"


def test_key_screen_for_unknown_address_behaves_like_a_real_one(register, smtp_server):
    journey, *_ = _submit("nobody@example.jp", "1990-04-01")
    response = journey.complete("12345678")
    assert "認証キーが正しくありません" in response.content.decode()
    assert "あと4回" in response.content.decode()


def _capped_answer(email, birth_date):
    """The third ② for an address whose cap is two: the POST's answer and the page it leads to,
    read by a plain client so that the redirect itself is compared too."""
    for _ in range(2):
        Journey().start(email, birth_date)
    journey = Journey(Client())
    journey.agree()
    response = journey.identity(email, birth_date)
    page = journey.client.get(response.url)
    return {
        "status": response.status_code,
        "location": response.url,
        "cookies": sorted(response.cookies.keys()),
        "page_status": page.status_code,
        "page_cookies": sorted(page.cookies.keys()),
        # The birth date typed is shown again as typed.
        "page": re.sub(r'value="\d+"', "BIRTH", _normalised(page.content.decode())),
    }


def test_mail_cap_answers_the_same(register, smtp_server, settings, clock):
    settings.MAILS_PER_ADDRESS_PER_DAY = 2
    settings.IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR = 100
    answers = {case: _capped_answer(*CASES[case]) for case in CASES}
    first = answers["pending_match"]
    assert first["status"] == 302 and first["location"] == reverse("registration:identity")
    assert "いまはこれ以上メールをお送りできません" in first["page"]
    assert re.search(r"(本日|明日|明後日)\d+時以降にもう一度お試しください", first["page"])
    for case, answer in answers.items():
        assert answer == first, case
    # Nothing was queued for the refused submissions: two rows per address, none capped.
    assert not OutboundMail.objects.filter(status="capped").exists()
    assert OutboundMail.objects.filter(to="pending@example.jp").count() == 4  # two cases


@pytest.mark.parametrize("languages", [("en", "en", "en"), ("ja", "en", "ja")])
def test_mail_cap_counts_mails_whatever_their_language(register, smtp_server, settings, languages):
    settings.MAILS_PER_ADDRESS_PER_DAY = 2
    settings.IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR = 100
    for case in ("pending_match", "unknown"):
        email, birth_date = CASES[case]
        urls = [_submit(email, birth_date, language)[1].url for language in languages]
        expected = [reverse("registration:password")] * 2 + [reverse("registration:identity")]
        assert urls == expected, case
    assert not OutboundMail.objects.filter(status="capped").exists()


def test_capped_resend_answers_the_same(register, smtp_server, settings, clock):
    settings.MAILS_PER_ADDRESS_PER_DAY = 2
    pages = {}
    for case in ("pending_match", "unknown"):
        email, birth_date = CASES[case]
        journey = Journey()
        journey.start(email, birth_date)
        clock.advance(seconds=61)
        journey.resend()
        clock.advance(seconds=61)
        response = journey.resend()  # the third mail: refused by the cap
        assert response.url == reverse("registration:password")
        pages[case] = _normalised(journey.client.get(response.url).content.decode())
        clock.advance(seconds=-122)
    assert "いまはこれ以上メールをお送りできません" in pages["pending_match"]
    assert pages["pending_match"] == pages["unknown"]


@pytest.mark.parametrize("scope", ["address", "ip"])
def test_rate_limits_answer_the_same(register, settings, scope):
    if scope == "address":
        settings.IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR = 2
    else:
        settings.IDENTITY_SUBMISSIONS_PER_IP_PER_HOUR = 2
    pages = {}
    for case in ("pending_match", "unknown"):
        email, birth_date = CASES[case]
        results = []
        for _ in range(3):
            journey = Journey()
            journey.agree()
            response = journey.identity(email, birth_date)
            results.append(response.status_code)
        pages[case] = (results, _normalised(response.content.decode()))
        if scope == "ip":
            cache.clear()
            rate_limits_clear()
    assert pages["pending_match"] == pages["unknown"]
    assert pages["unknown"][0] == [302, 302, 200]
    assert "しばらく時間をおいてから" in pages["unknown"][1]


def _one_try_left_answer(login_id, password):
    """The fourth failed login (one try left) of a fresh browser: the POST's answer and the
    page it leads to, read by a plain client."""
    client = Client()
    for _ in range(3):
        client.post(reverse("accounts:login"), {"login_id": login_id, "password": password})
    response = client.post(reverse("accounts:login"), {"login_id": login_id, "password": password})
    page = client.get(response.url)
    html = page.content.decode().replace(login_id, "ID")
    return {
        "status": response.status_code,
        "location": response.url,
        "cookies": sorted(response.cookies.keys()),
        "page_status": page.status_code,
        "page": re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html),
    }


def test_the_one_try_left_warning_answers_the_same(register, settings):
    """Login IDs: a job seeker with no account yet (pending), an account with a wrong password
    (active), an account whose job seeker cannot log in, with its right password (mismatched),
    and an address nobody has (unknown)."""
    from django.contrib.auth import get_user_model

    settings.LOGIN_OTP_ENABLED = False
    password = "Sakura#2026go"
    active = get_user_model().objects.create_user("active@example.jp", password)
    JobSeeker.objects.filter(email="active@example.jp").update(user=active)
    get_user_model().objects.create_user("mismatch@example.jp", password)  # no job seeker
    answers = {
        "pending": _one_try_left_answer("pending@example.jp", "Wrong#pass1"),
        "active": _one_try_left_answer("active@example.jp", "Wrong#pass1"),
        "mismatched": _one_try_left_answer("mismatch@example.jp", password),
        "unknown": _one_try_left_answer("nobody@example.jp", "Wrong#pass1"),
    }
    first = answers["pending"]
    assert first["status"] == 302 and first["location"] == reverse("accounts:login")
    assert "あと1回ログインに失敗すると" in first["page"]
    for case, answer in answers.items():
        assert answer == first, case
