"""Passkey notices are written in the job seeker's own language, not in the page's."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from portal.passkeys.models import Passkey
from tests.accounts.conftest import deliver_mail, login_post
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.conftest import add_passkey

pytestmark = pytest.mark.django_db

EN_TIME = re.compile(r"Registered: \d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} JST\r?\n")


def test_an_english_reader_gets_the_added_notice_in_english(logged_in, account, smtp_server):
    # The clerk records English as the job seeker's language; the page stays Japanese.
    JobSeeker.objects.filter(pk=account.pk).update(language="en")
    assert add_passkey(logged_in, SoftAuthenticator(), name="自宅のパソコン").status_code == 302
    assert OutboundMail.objects.get(kind="passkey_added").language == "en"
    deliver_mail()
    [mail] = [m for m in smtp_server.to(account.email) if "passkey" in m["Subject"]]
    assert mail["Subject"] == "[Job Seeker My Page] A passkey was registered"
    body = mail.get_content()
    assert body.startswith("Dear 山田太郎,")
    assert "Passkey name: 自宅のパソコン" in body
    assert EN_TIME.search(body)
    assert not re.search(r"[\u3040-\u30ff]", body.replace("自宅のパソコン", ""))


def test_a_japanese_reader_on_an_english_page_gets_the_removed_notice_in_japanese(
    account, no_otp, smtp_server
):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert login_post(client, account.email).status_code == 302
    assert add_passkey(client, SoftAuthenticator()).status_code == 302
    # Logging in on an English page made English the job seeker's own; the clerk sets it back.
    JobSeeker.objects.filter(pk=account.pk).update(language="ja")
    passkey = Passkey.objects.get(user=account.user)
    assert client.post(reverse("passkeys:remove", args=[passkey.pk])).status_code == 302
    deliver_mail()
    [mail] = [m for m in smtp_server.to(account.email) if "パスキー削除" in m["Subject"]]
    assert mail["Subject"].strip() == "【求職者マイページ】パスキー削除のお知らせ"
    assert OutboundMail.objects.get(kind="passkey_removed").language == "ja"
    assert "削除日時：" in mail.get_content()
