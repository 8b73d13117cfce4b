"""The seed's four screens end to end over HTTP, with a real SMTP server (aiosmtpd)."""

import re

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from portal.registration.flow import Stage
from portal.registration.models import RegistrationFlow
from tests.registration.journey import (
    GOOD_PASSWORD,
    REFERENCE_RE,
    Journey,
    deliver_mail,
    key_from,
)

pytestmark = pytest.mark.django_db


def test_happy_path_to_a_usable_login(make_jobseeker, smtp_server):
    seeker = make_jobseeker(email="taro@example.jp")
    journey = Journey()

    page = journey.client.get(reverse("registration:top"))
    assert "求職者マイページ開設（パスワード登録）" in page.content.decode()
    terms = journey.client.get(reverse("registration:terms"))
    html = terms.content.decode()
    for words in (
        "求職者マイページ利用規約確認",
        "「プライバシーポリシー」「マイページ利用規約」に同意します。",
        "次へ進む",
    ):
        assert words in html

    assert journey.agree().url == reverse("registration:identity")
    identity = journey.client.get(reverse("registration:identity")).content.decode()
    for words in (
        "メールアドレスの入力（パスワード登録申込）",
        "ID（メールアドレス）",
        "生年月日",
        "キャンセル",
    ):
        assert words in identity

    response = journey.identity("ＴＡＲＯ＠example.jp", "1990-04-01")  # full-width, any case
    assert response.url == reverse("registration:password")
    deliver_mail()
    [mail] = smtp_server.to("taro@example.jp")
    assert mail["Subject"] == "パスワード登録申込受付通知"
    key = key_from(mail)
    assert key not in mail["Subject"]
    body = mail.get_content()
    # The deadline in Japan's time, written the Japanese way (2026年12月3日 16:07).
    assert re.search(r"有効期限：\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}\r?\n", body)
    assert "50分" in body

    screen = journey.client.get(reverse("registration:password")).content.decode()
    for words in (
        "パスワード登録",
        "登録するパスワード",
        "登録するパスワード（確認用）",
        "認証キー",
        "完了",
    ):
        assert words in screen
    assert "taro@example.jp" in screen
    assert REFERENCE_RE.search(body).group(1) in screen  # the same 受付番号 on screen and mail

    # The key pasted with spaces and a hyphen, in full-width digits, still works.
    spaced = " ".join([key[:4], key[4:]]).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    response = journey.complete(spaced.replace(" ", "-", 1))
    assert response.url == reverse("registration:done")
    done = journey.client.get(response.url).content.decode()
    assert "パスワード登録完了" in done and "ログイン画面へ進む" in done

    seeker.refresh_from_db()
    assert seeker.status == JobSeeker.Status.ACTIVE
    assert authenticate(username="taro@example.jp", password=GOOD_PASSWORD) == seeker.user
    deliver_mail()
    assert [m["Subject"].strip() for m in smtp_server.to("taro@example.jp")][
        -1
    ] == "求職者マイページ開設完了のお知らせ"
    assert AuditEvent.objects.filter(action="register.completed", target_id=seeker.number).exists()


def test_key_is_never_stored_in_clear(make_jobseeker, smtp_server):
    make_jobseeker(email="clear@example.jp")
    journey = Journey()
    journey.start("clear@example.jp")
    row = OutboundMail.objects.get(to="clear@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("clear@example.jp")[0])
    row.refresh_from_db()
    assert key not in row.body
    assert key.encode() not in bytes(row.secret_sealed)
    flow = RegistrationFlow.objects.get(email="clear@example.jp")
    assert key.encode() not in bytes(flow.key_hash)
    for event in AuditEvent.objects.all():
        assert key not in str(event.detail)


def test_wrong_key_then_right_key(make_jobseeker, smtp_server):
    make_jobseeker(email="w@example.jp")
    journey = Journey()
    journey.start("w@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("w@example.jp")[0])
    wrong = "00000000" if key != "00000000" else "11111111"
    response = journey.complete(wrong)
    assert response.status_code == 200
    html = response.content.decode()
    assert "認証キーが正しくありません" in html and "あと4回" in html
    assert "<title>エラー：" in html
    assert journey.complete(key).url == reverse("registration:done")


def test_five_wrong_keys_end_the_flow(make_jobseeker, smtp_server):
    make_jobseeker(email="five@example.jp")
    journey = Journey()
    journey.start("five@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("five@example.jp")[0])
    wrong = "00000000" if key != "00000000" else "11111111"
    for _ in range(4):
        assert journey.complete(wrong).status_code == 200
    response = journey.complete(wrong)
    assert response.url == reverse("registration:terms")
    page = journey.client.get(response.url).content.decode()
    assert "規定の回数以上誤った" in page
    # Even the right key no longer works: the browser has no flow any more.
    response = journey.complete(key)
    assert response.url == reverse("registration:terms")
    assert JobSeeker.objects.get(email="five@example.jp").status == JobSeeker.Status.PENDING


def test_expired_key_has_its_own_message_and_resend_recovers(make_jobseeker, smtp_server, clock):
    make_jobseeker(email="late@example.jp")
    journey = Journey()
    journey.start("late@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("late@example.jp")[0])
    clock.advance(minutes=50, seconds=1)
    response = journey.complete(key)
    html = response.content.decode()
    assert "有効期限（メール配信から50分）が切れています" in html
    assert "認証キーが正しくありません" not in html
    journey.resend()
    deliver_mail()
    new_key = key_from(smtp_server.to("late@example.jp")[-1])
    assert journey.complete(new_key).url == reverse("registration:done")


def test_key_valid_until_just_before_fifty_minutes(make_jobseeker, smtp_server, clock):
    make_jobseeker(email="edge@example.jp")
    journey = Journey()
    journey.start("edge@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("edge@example.jp")[0])
    clock.advance(minutes=49, seconds=59)
    assert journey.complete(key).url == reverse("registration:done")


def test_resend_kills_old_key_and_keeps_wrong_count(make_jobseeker, smtp_server, clock):
    make_jobseeker(email="re@example.jp")
    journey = Journey()
    journey.start("re@example.jp")
    deliver_mail()
    old_key = key_from(smtp_server.to("re@example.jp")[0])
    wrong = "00000000" if old_key != "00000000" else "11111111"
    journey.complete(wrong)  # 1 wrong

    too_soon = journey.resend()
    assert re.search(
        r"再送信は、\d{1,2}時\d{2}分以降にできます",
        journey.client.get(too_soon.url).content.decode(),
    )
    clock.advance(seconds=61)
    journey.resend()
    deliver_mail()
    new_key = key_from(smtp_server.to("re@example.jp")[-1])
    response = journey.complete(old_key)  # dead since the resend
    assert "あと3回" in response.content.decode()  # the count carried over the resend
    assert journey.complete(new_key).url == reverse("registration:done")


def test_resend_cap(make_jobseeker, smtp_server, clock, settings):
    settings.MAILS_PER_ADDRESS_PER_DAY = 50
    make_jobseeker(email="cap@example.jp")
    journey = Journey()
    journey.start("cap@example.jp")
    for _ in range(3):
        clock.advance(seconds=61)
        journey.resend()
    clock.advance(seconds=61)
    response = journey.resend()
    assert "再送信は3回まで" in journey.client.get(response.url).content.decode()
    assert OutboundMail.objects.filter(to="cap@example.jp").count() == 4


def test_change_address_goes_back_to_identity(make_jobseeker, smtp_server):
    make_jobseeker(email="right@example.jp")
    journey = Journey()
    journey.start("wrong@example.jp")
    response = journey.client.post(reverse("registration:change_address"))
    assert response.url == reverse("registration:identity")
    journey.identity("right@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("right@example.jp")[0])
    assert journey.complete(key).url == reverse("registration:done")


def test_flow_lifetime_ends_a_flow_whose_mail_never_left(make_jobseeker, clock, settings):
    settings.EMAIL_PORT = 1  # nothing listens: the mail stays queued
    make_jobseeker(email="stuck@example.jp")
    journey = Journey()
    journey.start("stuck@example.jp")
    clock.advance(minutes=121)
    response = journey.client.get(reverse("registration:password"))
    assert response.url == reverse("registration:terms")
    assert "有効期限が切れました" in journey.client.get(response.url).content.decode()
    assert RegistrationFlow.objects.get().stage == Stage.ENDED


def test_smtp_down_then_back_delivers_once_and_key_runs_from_delivery(
    make_jobseeker, smtp_server, clock, settings
):
    make_jobseeker(email="down@example.jp")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # SMTP down during the request
    journey = Journey()
    assert journey.start("down@example.jp").url == reverse("registration:password")
    deliver_mail()
    mail = OutboundMail.objects.get(to="down@example.jp")
    assert mail.status == OutboundMail.Status.QUEUED and mail.attempts == 1
    assert mail.attempt_log.get().ok is False

    clock.advance(minutes=45)  # back after a while; the retry is due
    settings.EMAIL_PORT = port
    deliver_mail()
    deliver_mail()
    [received] = smtp_server.to("down@example.jp")  # delivered once
    mail.refresh_from_db()
    assert mail.status == OutboundMail.Status.SENT and mail.attempts == 2
    key = key_from(received)
    clock.advance(minutes=49)  # 94 minutes after the request, 49 after delivery
    assert journey.complete(key).url == reverse("registration:done")


def test_post_without_csrf_token_is_refused(make_jobseeker):
    journey = Journey(enforce_csrf=True)
    response = journey.client.post(reverse("registration:terms"), {"agree": "on"})
    assert response.status_code == 403
    assert not RegistrationFlow.objects.exists()


def test_double_complete_in_one_browser_gives_one_account(make_jobseeker, smtp_server):
    make_jobseeker(email="twice@example.jp")
    journey = Journey()
    journey.start("twice@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("twice@example.jp")[0])
    first = journey.complete(key)
    second = journey.complete(key)  # double click, or the back button and submit again
    assert first.url == second.url == reverse("registration:done")
    assert JobSeeker.objects.get(email="twice@example.jp").user is not None
    assert AuditEvent.objects.filter(action="register.completed").count() == 1


def test_done_screen_after_completion_needs_no_database_and_a_new_flow_does(
    make_jobseeker, smtp_server
):
    make_jobseeker(email="final@example.jp")
    journey = Journey()
    journey.start("final@example.jp")
    deliver_mail()
    journey.complete(key_from(smtp_server.to("final@example.jp")[-1]))
    # Completion is final: the session knows it, so ④ asks the database nothing.
    with CaptureQueriesContext(connection) as queries:
        done = journey.client.get(reverse("registration:done"))
    assert done.status_code == 200 and "パスワード登録完了" in done.content.decode()
    assert not [q for q in queries if "registration_registrationflow" in q["sql"]]
    # A new flow in the same browser is not complete: ④ sends it where it stands.
    journey.agree()
    response = journey.client.get(reverse("registration:done"))
    assert response.status_code == 302 and response.url == reverse("registration:identity")
