"""② answers the same whatever the register holds: same page, same cookies, same database work,
and every limit answers the same for an address that exists and one that does not. In
Japanese and in English: ② never writes the job seeker's own language."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
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


@pytest.mark.parametrize("languages", [("ja", "ja", "ja"), ("en", "en", "en"), ("ja", "en", "ja")])
def test_mail_cap_answers_the_same(register, smtp_server, settings, languages):
    """The cap counts mails whatever their language."""
    settings.MAILS_PER_ADDRESS_PER_DAY = 2
    settings.IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR = 100
    answers = {}
    for case in ("pending_match", "unknown"):
        email, birth_date = CASES[case]
        answers[case] = [_submit(email, birth_date, language)[1].url for language in languages]
    assert answers["pending_match"] == answers["unknown"]
    assert all(url == reverse("registration:password") for url in answers["unknown"])
    statuses = {
        case: list(
            OutboundMail.objects.filter(to=CASES[case][0])
            .order_by("id")
            .values_list("status", flat=True)
        )
        for case in answers
    }
    assert statuses["pending_match"] == ["queued", "queued", "capped"]
    assert statuses["unknown"] == ["suppressed", "suppressed", "capped"]


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
