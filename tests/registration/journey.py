"""Drives the registration screens over HTTP like a browser would, reading keys from the mails
the real SMTP server received."""

import re

from django.core.management import call_command
from django.urls import reverse

from portal.registration.terms import terms_load
from tests.browser_client import BrowserClient as Client

KEY_RE = re.compile(r"(?:認証キー：|Auth key: )(\d+)")
REFERENCE_RE = re.compile(r"受付番号：([A-Z0-9]{4}-[A-Z0-9]{4})")
GOOD_PASSWORD = "Sakura#2026go"


def deliver_mail():
    call_command("deliver_mail", "--once")


def key_from(message) -> str:
    return KEY_RE.search(message.get_content()).group(1)


class Journey:
    def __init__(
        self, client: Client | None = None, *, enforce_csrf: bool = False, language: str = "ja"
    ):
        """`language`: the browser's Accept-Language (the pages, the terms and the mails the
        pages ask for follow it)."""
        self.language = language
        self.client = client or Client(
            enforce_csrf_checks=enforce_csrf, HTTP_ACCEPT_LANGUAGE=language
        )

    def agree(self):
        versions = {
            "privacy_version": terms_load("privacy", self.language).version,
            "terms_version": terms_load("mypage", self.language).version,
        }
        return self.client.post(reverse("registration:terms"), {"agree": "on", **versions})

    def identity(self, email: str, birth_date: str = "1990-04-01"):
        year, month, day = birth_date.split("-")
        return self.client.post(
            reverse("registration:identity"),
            {"email": email, "birth_year": year, "birth_month": month, "birth_day": day},
        )

    def complete(self, key: str, password: str = GOOD_PASSWORD, confirm: str | None = None):
        return self.client.post(
            reverse("registration:password"),
            {
                "password1": password,
                "password2": password if confirm is None else confirm,
                "key": key,
            },
        )

    def resend(self):
        return self.client.post(reverse("registration:resend"))

    def start(self, email: str, birth_date: str = "1990-04-01"):
        self.agree()
        return self.identity(email, birth_date)
