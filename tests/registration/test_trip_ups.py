"""What a job seeker trips over on the registration and reset screens: the daily mail cap
said on ②, the reset naming its own mail, every password rule shown before the first try,
failed submissions answered POST → redirect → GET, and ② after 「メールアドレスを変更する」."""

import json
import re

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client as PlainClient
from django.urls import reverse

from portal.registration.models import RegistrationFlow
from tests.registration.journey import GOOD_PASSWORD, Journey, deliver_mail, key_from
from tests.registration.test_reset import ResetJourney, opened  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

RULES = (
    "8文字以上32文字以内",
    "半角数字（0〜9）、半角英字（A〜Z、a〜z）、半角記号をそれぞれ1文字以上含む",
    "記号として使えるのは次の半角文字です：!&quot;#$%&amp;&#x27;()*+,-./:;&lt;=&gt;?@[\\]^_`{|}~",
    "よく使われているパスワード（password1 など）は使えません",
    "メールアドレスの「@」より前の部分を含まないこと",
)


def _session_text(client) -> str:
    """Everything this browser's session holds, as stored."""
    return json.dumps(dict(client.session.items()), ensure_ascii=False)


# --- 1. the daily mail cap ---------------------------------------------------------------------


def test_past_the_cap_identity_says_so_and_when_to_try_again(make_jobseeker, settings, clock):
    settings.MAILS_PER_ADDRESS_PER_DAY = 1
    make_jobseeker(email="cap@example.jp")
    Journey().start("cap@example.jp")
    journey = Journey()
    page = journey.start("cap@example.jp")
    assert page.url == reverse("registration:identity")  # stays on ②, not on to ③
    text = page.content.decode()
    assert "いまはこれ以上メールをお送りできません" in text
    when = re.search(r"(本日|明日|明後日)(\d+)時以降にもう一度お試しください", text)
    assert when, "the hour to try again"
    assert not re.search(r"\d+時\d+分以降にもう一度", text)  # never the minute
    assert RegistrationFlow.objects.filter(stage="terms_agreed").count() == 1


def test_the_cap_on_the_reset_start_screen(opened, settings, clock):  # noqa: F811
    settings.MAILS_PER_ADDRESS_PER_DAY = 1  # the registration's key mail used it up
    reset = ResetJourney()
    page = reset.identity("open@example.jp")
    assert page.url == reverse("registration:reset_start")
    assert "いまはこれ以上メールをお送りできません" in page.content.decode()


# --- 2. the reset speaks of a reset ------------------------------------------------------------


def test_reset_screen_names_the_reset_mail_and_no_registration(opened, smtp_server):  # noqa: F811
    reset = ResetJourney()
    page = reset.client.get(reset.identity("open@example.jp").url).content.decode()
    assert "「パスワード再設定申込受付通知」メールに記載された8桁の数字" in page
    assert "パスワード登録申込受付通知" not in page
    assert "登録を完了する前に" not in page and "再設定を完了する前に" in page
    assert "登録するパスワード" not in page and "新しいパスワード（確認用）" in page
    deliver_mail()
    mail = smtp_server.to("open@example.jp")[-1]
    assert mail["Subject"].strip() == "パスワード再設定申込受付通知"
    assert "登録するパスワード" not in mail.get_content()


# --- 3. password rules up front, every problem at once ------------------------------------------


def test_every_password_rule_is_listed_before_the_first_try(make_jobseeker):
    make_jobseeker(email="rules@example.jp")
    journey = Journey()
    page = journey.client.get(journey.start("rules@example.jp").url).content.decode()
    rules = page.index('id="password-rules"')
    assert rules < page.index('name="password1"')
    for rule in RULES:
        assert rule in page, rule


def test_one_submission_reports_every_problem(make_jobseeker):
    make_jobseeker(email="hanako.sato@example.jp")
    journey = Journey()
    journey.start("hanako.sato@example.jp")
    page = journey.complete("123", password="hanako.sato", confirm="other").content.decode()
    for message in (
        "半角数字（0〜9）を1文字以上含めてください",
        "「@」より前の部分をパスワードに含めないでください",
        "確認用のパスワードが一致しません",
        "認証キーは8桁の数字です",
    ):
        assert message in page, message


# --- 4. the back button: POST → redirect → GET, no secret kept ---------------------------------


def test_a_failed_password_screen_redirects_and_keeps_no_secret(make_jobseeker):
    make_jobseeker(email="back@example.jp")
    journey = Journey(PlainClient())
    journey.start("back@example.jp")
    secret_password, secret_key = "Zz9#secret-pw", "87654321"
    response = journey.complete(secret_key, password=secret_password, confirm="Other#123x")
    assert response.status_code == 302 and response.url == reverse("registration:password")
    stored = _session_text(journey.client)
    assert secret_password not in stored and secret_key not in stored and "Other#123x" not in stored
    page = journey.client.get(response.url).content.decode()
    assert "確認用のパスワードが一致しません" in page
    assert secret_password not in page and secret_key not in page
    # The kept state is for one GET: reloading shows the screen afresh.
    again = journey.client.get(response.url).content.decode()
    assert "確認用のパスワードが一致しません" not in again


def test_a_failed_identity_keeps_the_address_and_birth_date_only(make_jobseeker):
    journey = Journey(PlainClient())
    journey.agree()
    response = journey.client.post(
        reverse("registration:identity"),
        {"email": "keep@example.jp", "birth_year": "1990", "birth_month": "13", "birth_day": "1"},
    )
    assert response.status_code == 302 and response.url == reverse("registration:identity")
    page = journey.client.get(response.url).content.decode()
    assert 'value="keep@example.jp"' in page and 'value="1990"' in page and 'value="13"' in page
    assert "月は1から12までの数字で入力してください" in page


def test_the_session_store_never_holds_a_password_after_failures(make_jobseeker):
    """Read through the session backend itself, as stored on the server."""
    make_jobseeker(email="store@example.jp")
    journey = Journey(PlainClient())
    journey.start("store@example.jp")
    journey.complete("11112222", password="Qq1!stored-pw")
    session_key = journey.client.cookies["sessionid"].value
    from importlib import import_module

    from django.conf import settings

    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    text = json.dumps(store.load(), ensure_ascii=False)
    assert "Qq1!stored-pw" not in text and "11112222" not in text
    assert "form_state:" in text  # the errors were kept, for the GET


# --- 5. after 「メールアドレスを変更する」 ----------------------------------------------------


def test_changing_the_address_keeps_the_birth_date_and_words_the_wait(
    make_jobseeker, smtp_server, clock
):
    make_jobseeker(email="change@example.jp", birth_date="1985-11-23")
    journey = Journey()
    journey.start("change@example.jp", "1985-11-23")
    page = journey.client.get(reverse("registration:password")).content.decode()
    assert re.search(r"認証キーの再送信は、\d{1,2}時\d{2}分以降にできます。", page)
    response = journey.client.post(reverse("registration:change_address"))
    page = journey.client.get(response.url).content.decode()
    assert 'value="change@example.jp"' in page
    assert 'value="1985"' in page and 'value="11"' in page and 'value="23"' in page
    # The same address again at once: the wait is worded for asking for a key, not a resend.
    page = journey.identity("change@example.jp", "1985-11-23").content.decode()
    wait = r"同じメールアドレスへの新しい認証キーは、\d{1,2}時\d{2}分以降に送信できます"
    assert re.search(wait, page)
    summary = page.split('id="error-summary-title"')[1].split("</ul>")[0]
    assert "再送信" not in summary
    clock.advance(seconds=61)
    assert journey.identity("change@example.jp", "1985-11-23").url == reverse(
        "registration:password"
    )
    deliver_mail()
    key = key_from(smtp_server.to("change@example.jp")[-1])
    assert journey.complete(key, GOOD_PASSWORD).url == reverse("registration:done")


def test_no_resend_time_is_shown_once_the_wait_is_over(make_jobseeker, clock):
    make_jobseeker(email="later@example.jp")
    journey = Journey()
    journey.start("later@example.jp")
    clock.advance(seconds=61)
    page = journey.client.get(reverse("registration:password")).content.decode()
    assert "以降にできます" not in page


def test_a_resend_pressed_too_soon_says_from_when(make_jobseeker, clock):
    make_jobseeker(email="soon@example.jp")
    journey = Journey()
    journey.start("soon@example.jp")
    response = journey.resend()
    page = journey.client.get(response.url).content.decode()
    assert re.search(r"認証キーの再送信は、\d{1,2}時\d{2}分以降にできます。少し待って", page)
