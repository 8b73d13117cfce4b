"""The small things of issue 18: one way of writing 「ID（メールアドレス）」, the profile's
contact box, the terms version, the step labels, the demo mailbox's dates, the favicon and the
demo's start-up list."""

import re
from email.message import EmailMessage

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django.urls import reverse

from portal.jobseekers.models import JobSeeker
from portal.mail import demo_views
from portal.mail.management.commands.run_demo import DEMO_JOBSEEKERS
from portal.mail.management.commands.run_demo import Command as RunDemo
from portal.registration.terms import terms_load
from tests.accounts.conftest import login_post
from tests.registration.journey import Journey

pytestmark = pytest.mark.django_db


def test_id_is_written_one_way_on_every_screen(logged_in, make_jobseeker, settings):
    settings.LOGIN_OTP_ENABLED = True
    journey = Journey()
    journey.agree()
    pages = {
        "identity": journey.client.get(reverse("registration:identity")),
        "reset": journey.client.get(reverse("registration:reset_start")),
        "login": journey.client.get(reverse("accounts:login")),
        "profile": logged_in.get(reverse("accounts:profile")),
    }
    for name, response in pages.items():
        page = response.content.decode()
        assert "ID（メールアドレス）" in page, name
        assert "ID(メールアドレス)" not in page and "メールアドレス（ID）" not in page, name


def test_profile_contact_box_says_it_once_with_office_contact(logged_in, settings):
    settings.OFFICE_CONTACT = "品川公共職業安定所（03-0000-0000）にお問い合わせください。"
    page = logged_in.get(reverse("accounts:profile")).content.decode()
    box = re.search(r'<div class="notice notice--info">(.*?)</div>', page, re.S).group(1)
    assert box.count("品川公共職業安定所（03-0000-0000）にお問い合わせください。") == 1
    assert box.count("窓口") <= 1  # the office is named once, by OFFICE_CONTACT


def test_terms_page_shows_the_version_without_the_digest(client):
    document = terms_load("mypage")
    assert "+" in document.version  # the agreement records keep the digest
    page = client.get(reverse("registration:terms_document", args=["mypage"])).content.decode()
    shown = re.search(r"版: ([^<]+)</p>", page).group(1).strip()
    assert shown == document.declared_version and "+" not in shown


def test_step_labels_break_only_between_words(client):
    Journey(client).agree()
    page = client.get(reverse("registration:identity")).content.decode()
    assert "マイページ<wbr>利用規約等<wbr>への同意" in page
    assert "メール<wbr>アドレスの<wbr>入力" in page and "パスワード<wbr>の登録" in page


def test_a_favicon_is_linked_and_served(client):
    page = client.get(reverse("registration:top")).content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    assert href.endswith("portal/favicon.svg")
    assert finders.find("portal/favicon.svg")


def test_demo_mailbox_dates_are_in_japanese_time(settings, tmp_path):
    settings.DEBUG = True
    settings.DEMO_MAILBOX = True
    settings.DEMO_MAILBOX_DIR = tmp_path
    message = EmailMessage()
    message["To"] = "taro@example.jp"
    message["Subject"] = "パスワード登録申込受付通知"
    message["Date"] = "Thu, 03 Dec 2026 23:05:09 +0000"
    message.set_content("本文")
    (tmp_path / "0001.eml").write_bytes(bytes(message))
    response = demo_views.mailbox(RequestFactory().get("/demo/mailbox/"))
    page = response.content.decode()
    assert "2026年12月4日 8時05分09秒（日本時間）" in page
    assert "+0000" not in page


def test_demo_start_up_list_shows_each_demo_job_seekers_state(make_jobseeker):
    number, _name, _kana, email, birth, _language = DEMO_JOBSEEKERS[0]
    seeker = make_jobseeker(number=number, email=email, birth_date=birth)
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE)
    listing = RunDemo()._demo_list()
    assert f"{email}  生年月日 {birth}  状態: 利用中" in listing
    assert f"{DEMO_JOBSEEKERS[1][3]}  生年月日 {DEMO_JOBSEEKERS[1][4]}  状態: 登録なし" in listing


def test_login_page_keeps_the_wording_after_a_failure(client, account, no_otp):
    page = login_post(client, account.email, "Wrong#pass1").content.decode()
    assert "ID（メールアドレス）" in page
