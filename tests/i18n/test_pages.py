"""Choosing the language: Accept-Language on the first visit, the switch on every page (a plain
form, no JavaScript) kept in Django's language cookie, <html lang>, a registration that keeps
its flow across a switch; and the terms documents per language with their fallback."""

import re
import shutil

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from portal.registration.models import RegistrationFlow
from portal.registration.terms import terms_load
from tests.registration.journey import Journey
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db

PAGES = ["/", "/register/", "/password-reset/", "/login/", "/terms/privacy/", "/terms/mypage/"]


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.mark.parametrize("path", PAGES)
def test_accept_language_decides_the_first_visit(path):
    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9,ja;q=0.5").get(path)
    japanese = Client(HTTP_ACCEPT_LANGUAGE="ja").get(path)
    default = Client().get(path)
    assert english.status_code == japanese.status_code == 200
    assert _lang(english.content.decode()) == "en"
    assert _lang(japanese.content.decode()) == "ja"
    assert _lang(default.content.decode()) == "ja"
    assert "Skip to content" in english.content.decode()
    assert "本文へ移動" in japanese.content.decode()
    # The switch: a form posting to set_language, the other language as a button.
    html = english.content.decode()
    form = re.search(r'<form class="language-switch" action="([^"]+)" method="post">', html)
    assert form and form.group(1) == reverse("set_language")
    assert '<button type="submit" name="language" value="ja" lang="ja">日本語</button>' in html
    assert f'name="next" value="{path}"' in html


def test_the_switch_is_kept_in_the_language_cookie():
    client = Client(HTTP_ACCEPT_LANGUAGE="ja", enforce_csrf_checks=True)
    page = client.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        reverse("set_language"),
        {"language": "en", "next": "/login/", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response.url == "/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    for path in PAGES:  # the cookie wins over Accept-Language from now on
        assert _lang(client.get(path).content.decode()) == "en"


def test_the_switch_needs_the_csrf_token_and_refuses_foreign_targets():
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("set_language"), {"language": "en"}).status_code == 403
    client = Client()
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response.url == "/"


def test_switching_in_the_middle_of_a_registration_keeps_the_flow(make_jobseeker):
    make_jobseeker(email="switch@example.jp")
    journey = Journey(language="ja")
    journey.start("switch@example.jp")
    flow = RegistrationFlow.objects.get()
    page = journey.client.get(reverse("registration:password")).content.decode()
    assert flow.reference in page and "パスワード登録" in page
    response = journey.client.post(
        reverse("set_language"), {"language": "en", "next": reverse("registration:password")}
    )
    assert response.url == reverse("registration:password")
    page = journey.client.get(response.url).content.decode()
    assert _lang(page) == "en"
    assert flow.reference in page and "Register a password" in page
    assert RegistrationFlow.objects.get().pk == flow.pk
    assert RegistrationFlow.objects.count() == 1


def test_english_terms_are_shown_and_recorded_with_their_language(make_jobseeker):
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/register/").content.decode()
    assert "Privacy policy" in english and "My Page terms of use" in english
    assert "not yet available in English" not in english
    privacy_en = terms_load("privacy", "en")
    assert privacy_en.language == "en" and privacy_en.version.endswith(":en")
    assert terms_load("privacy", "ja").version.endswith(":ja")
    Journey(language="en").agree()
    flow = RegistrationFlow.objects.get()
    assert flow.privacy_version == privacy_en.version
    assert flow.terms_version == terms_load("mypage", "en").version


@pytest.mark.parametrize("problem", ["missing", "other_version"])
def test_a_missing_or_outdated_translation_falls_back_to_japanese(settings, tmp_path, problem):
    source = settings.TERMS_DIR
    for name in ("privacy.txt", "mypage.txt", "mypage.en.txt", "privacy.en.txt"):
        shutil.copy(source / name, tmp_path / name)
    if problem == "missing":
        (tmp_path / "privacy.en.txt").unlink()
    else:
        text = (tmp_path / "privacy.en.txt").read_text(encoding="utf-8")
        (tmp_path / "privacy.en.txt").write_text(
            text.replace("version: 2026-11-01", "version: 2026-10-01"), encoding="utf-8"
        )
    settings.TERMS_DIR = tmp_path
    document = terms_load("privacy", "en")
    assert document.fallback and document.language == "ja"
    assert document.version == terms_load("privacy", "ja").version
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/register/").content.decode()
    assert "This document is not yet available in English, so the Japanese original is shown." in (
        page
    )
    assert '<div class="terms-box" id="terms-privacy"' in page and 'lang="ja"' in page
    assert "プライバシーポリシー" in page  # the Japanese text, never an empty box
    assert "My Page terms of use" in page  # the other document is still English
    standalone = Client(HTTP_ACCEPT_LANGUAGE="en").get("/terms/privacy/").content.decode()
    assert "not yet available in English" in standalone


def test_the_staff_admin_has_the_switch_and_follows_the_language():
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("staff@example.jp", "Staff#pass1")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_force_login(client, staff)
    page = client.get(reverse("admin:jobseekers_jobseeker_changelist")).content.decode()
    assert _lang(page) == "en"
    assert "Job Seeker My Page: counter administration" in page
    assert "Job seeker register" in page
    assert '<button type="submit" name="language" value="ja" lang="ja">日本語</button>' in page
    client.post(reverse("set_language"), {"language": "ja", "next": "/staff/"})
    page = client.get("/staff/").content.decode()
    assert _lang(page) == "ja" and "求職者マイページ 窓口管理" in page


@pytest.mark.parametrize("path", PAGES)
def test_a_shared_cache_keeps_the_languages_apart(path):
    """Pages depend on Accept-Language and on the language cookie: they say so, so a cache in
    front of the service never serves one language's page for another."""
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    vary = {part.strip().lower() for part in response.get("Vary", "").split(",")}
    assert {"accept-language", "cookie"} <= vary


def test_the_admin_shows_each_mails_language(make_jobseeker, smtp_server):
    from django.contrib.auth import get_user_model

    seeker = make_jobseeker(email="mails@example.jp", language="en")
    Journey(language="ja").start("mails@example.jp")
    staff = get_user_model().objects.create_superuser("staff@example.jp", "Staff#pass1")
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    staff_force_login(client, staff)
    page = client.get(reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]))
    html = page.content.decode()
    assert "<th>言語</th>" in html
    assert '<td lang="ja">パスワード登録申込受付通知</td><td>ja</td>' in html
