"""Each mail in its reader's language: the page's for the mails a page asks for (key, one-time
password, reset), the job seeker's own for the others (completion and change notices, a
clerk's e-mail change, ②'s notices); never the clerk's or the worker's. The deadline is
written by the worker in the mail's language."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from portal.mail.services import format_jst, mail_queue
from tests.accounts.conftest import PASSWORD, login_post
from tests.registration.journey import Journey, deliver_mail
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db

EN_DEADLINE = re.compile(r"Valid until: \d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} JST\r?\n")
JA_DEADLINE = re.compile(r"有効期限：\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}\r?\n")
EN_KEY = re.compile(r"Auth key: (\d+)")


def test_deadlines_are_written_in_each_languages_way():
    moment = dt.datetime(2026, 12, 3, 7, 7, tzinfo=dt.UTC)  # 16:07 in Japan
    assert format_jst(moment, "ja") == "2026年12月3日 16:07"
    assert format_jst(moment, "en") == "3 December 2026, 16:07 JST"
    with translation.override("en"):  # the active language does not decide
        assert format_jst(moment, "ja") == "2026年12月3日 16:07"


def test_the_worker_writes_the_deadline_in_the_mails_language(smtp_server, make_jobseeker):
    for language, address in (("en", "en@example.jp"), ("ja", "ja@example.jp")):
        mail = mail_queue(
            to=address,
            kind="registration_key",
            context={"reference": "ABCD-EFGH", "lifetime_minutes": 50},
            secret="12345678",
            secret_valid_minutes=50,
            language=language,
        )
        assert mail.language == language
    with translation.override("ja"):  # the worker's own language is not the mail's
        deliver_mail()
    [english] = smtp_server.to("en@example.jp")
    [japanese] = smtp_server.to("ja@example.jp")
    assert english["Subject"] == "Password registration: your auth key"
    assert EN_DEADLINE.search(english.get_content())
    assert "認証" not in english.get_content()
    assert japanese["Subject"].strip() == "パスワード登録申込受付通知"
    assert JA_DEADLINE.search(japanese.get_content())


def test_an_unknown_language_falls_back_to_japanese():
    mail = mail_queue(to="x@example.jp", kind="reset_not_open", context={"reference": "R"})
    assert mail.language == "ja"
    assert mail_queue(to="y@example.jp", kind="reset_not_open", language="xx").language == "ja"


def test_english_registration_mails_and_the_job_seekers_language(make_jobseeker, smtp_server):
    seeker = make_jobseeker(email="emma@example.jp")
    assert seeker.language == "ja"
    journey = Journey(language="en")
    journey.start("emma@example.jp")
    seeker.refresh_from_db()
    assert seeker.language == "ja"  # ② never writes it
    deliver_mail()
    [key_mail] = smtp_server.to("emma@example.jp")
    assert key_mail["Subject"] == "Password registration: your auth key"
    assert OutboundMail.objects.get(kind="registration_key").language == "en"
    response = journey.complete(EN_KEY.search(key_mail.get_content()).group(1))
    assert response.url == reverse("registration:done")
    seeker.refresh_from_db()
    assert seeker.language == "en"  # a completed key does
    deliver_mail()
    done = smtp_server.to("emma@example.jp")[-1]
    assert done["Subject"] == "Your Job Seeker My Page is open"
    assert done.get_content().startswith("Dear 山田太郎,")


@pytest.mark.parametrize(("own", "page"), [("ja", "en"), ("en", "ja")])
def test_identity_notice_for_an_active_account_is_in_its_own_language(
    make_jobseeker, smtp_server, own, page
):
    seeker = make_jobseeker(email="active@example.jp", language=own)
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE)
    before = JobSeeker.objects.values().get(pk=seeker.pk)
    Journey(language=page).start("active@example.jp")
    deliver_mail()
    [notice] = smtp_server.to("active@example.jp")
    expected = {
        "ja": "求職者マイページ開設済みのお知らせ",
        "en": "Your Job Seeker My Page is already open",
    }
    assert notice["Subject"].strip() == expected[own]
    assert JobSeeker.objects.values().get(pk=seeker.pk) == before


def test_wrong_birth_date_notice_is_in_the_job_seekers_language(make_jobseeker, smtp_server):
    make_jobseeker(email="wrong@example.jp", language="en")
    Journey(language="ja").start("wrong@example.jp", "1991-05-02")
    deliver_mail()
    [notice] = smtp_server.to("wrong@example.jp")
    assert notice["Subject"] == "About your application for the Job Seeker My Page"


@pytest.mark.parametrize(("own", "clerk"), [("en", "ja"), ("ja", "en")])
def test_a_clerks_email_change_mails_in_the_job_seekers_language(
    make_jobseeker, smtp_server, own, clerk
):
    seeker = make_jobseeker(email="old@example.jp", language=own)
    staff = get_user_model().objects.create_superuser("staff@example.jp", PASSWORD)
    client = Client(HTTP_ACCEPT_LANGUAGE=clerk)
    staff_force_login(client, staff)
    url = reverse("admin:jobseekers_jobseeker_change_email", args=[seeker.pk])
    page = client.get(url).content.decode()
    assert f'lang="{clerk}"' in page
    response = client.post(
        url, {"new_email": "new@example.jp", "new_email_confirm": "new@example.jp"}
    )
    assert response.status_code == 302
    deliver_mail()
    [old] = smtp_server.to("old@example.jp")
    [new] = smtp_server.to("new@example.jp")
    subjects = {
        "en": (
            "[Job Seeker My Page] Your e-mail address was changed",
            "[Job Seeker My Page] Your e-mail address was registered",
        ),
        "ja": (
            "【求職者マイページ】メールアドレス変更のお知らせ",
            "【求職者マイページ】メールアドレス登録のお知らせ",
        ),
    }
    assert (old["Subject"].strip(), new["Subject"].strip()) == subjects[own]
    times = {
        "en": r"Changed: \d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} JST",
        "ja": r"変更日時：\d{4}年",
    }
    assert re.search(times[own], old.get_content())
    assert set(OutboundMail.objects.values_list("language", flat=True)) == {own}


def test_otp_mail_follows_the_login_page_and_signing_in_keeps_the_language(
    make_jobseeker, smtp_server
):
    seeker = make_jobseeker(email="login@example.jp")
    user = get_user_model().objects.create_user(seeker.email, PASSWORD)
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert login_post(client, seeker.email).url == reverse("accounts:otp")
    deliver_mail()
    [otp_mail] = smtp_server.to("login@example.jp")
    assert otp_mail["Subject"] == "[Job Seeker My Page] Your one-time password for logging in"
    code = re.search(r"One-time password: (\d{6})", otp_mail.get_content()).group(1)
    assert "JST" in otp_mail.get_content() or re.search(
        r"\d{4}, \d{2}:\d{2}", otp_mail.get_content()
    )
    response = client.post(reverse("accounts:otp"), {"code": code})
    assert response.url == reverse("accounts:mypage")
    seeker.refresh_from_db()
    assert seeker.language == "en"  # signing in is a signed-in page
    # The switch on a signed-in page changes it too; the next notice follows.
    client.post(reverse("set_language"), {"language": "ja", "next": "/mypage/"})
    seeker.refresh_from_db()
    assert seeker.language == "ja"


def test_the_switch_of_a_visitor_writes_nothing(make_jobseeker):
    seeker = make_jobseeker(email="visitor@example.jp")
    before = JobSeeker.objects.values().get(pk=seeker.pk)
    Client().post(reverse("set_language"), {"language": "en", "next": "/"})
    assert JobSeeker.objects.values().get(pk=seeker.pk) == before


def test_reset_in_english(make_jobseeker, smtp_server):
    seeker = make_jobseeker(email="reset@example.jp")
    user = get_user_model().objects.create_user(seeker.email, PASSWORD)
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(reverse("registration:reset_start")).content.decode()
    assert "Reset your password" in page
    response = client.post(
        reverse("registration:reset_start"),
        {
            "email": "reset@example.jp",
            "birth_year": "１９９０",
            "birth_month": "４",
            "birth_day": "１",
        },
    )
    assert response.url == reverse("registration:reset_password")
    seeker.refresh_from_db()
    assert seeker.language == "ja"  # the reset's first step never writes it
    deliver_mail()
    [key_mail] = smtp_server.to("reset@example.jp")
    assert key_mail["Subject"] == "Password reset: your auth key"
    assert EN_DEADLINE.search(key_mail.get_content())
    key = EN_KEY.search(key_mail.get_content()).group(1)
    response = client.post(
        reverse("registration:reset_password"),
        {"password1": "Momiji$2027ok", "password2": "Momiji$2027ok", "key": key},
    )
    assert response.url == reverse("registration:reset_done")
    assert "Your password was reset" in client.get(response.url).content.decode()
    deliver_mail()
    assert smtp_server.to("reset@example.jp")[-1]["Subject"] == "Your password was reset"
