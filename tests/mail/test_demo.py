"""The demo's SMTP sink and mailbox cannot run with production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]


def _settings_import(**env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DEMO_MAILBOX")}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_demo_mailbox_refused_with_debug_off():
    result = _settings_import(
        DEBUG="0", DEMO_MAILBOX="1", SECRET_KEY="k" * 20 + "Zq8#pLm2!vR6tY0wXe4^uN7s" * 2
    )
    assert result.returncode != 0
    assert "DEMO_MAILBOX needs DEBUG=1" in result.stderr


def test_weak_secret_key_stops_start_up_with_debug_off():
    result = _settings_import(DEBUG="0", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY is missing or weak" in result.stderr


def test_run_demo_refuses_without_demo_settings(settings):
    settings.DEBUG = False
    settings.DEMO_MAILBOX = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("run_demo")


def test_mailbox_page_is_not_routed_with_production_settings(client, db):
    assert client.get("/demo/mailbox/").status_code == 404


def test_demo_sink_and_mailbox_page_show_a_delivered_mail(settings, tmp_path, client, db):
    from django.test import override_settings

    from portal.mail.demo_sink import demo_mailbox_read, demo_sink_start
    from portal.mail.demo_views import mailbox
    from portal.mail.services import mail_deliver_due, mail_queue
    from tests.conftest import free_port

    settings.DEBUG = True
    settings.DEMO_MAILBOX = True
    settings.DEMO_MAILBOX_DIR = tmp_path
    settings.EMAIL_PORT = free_port()
    sink = demo_sink_start("127.0.0.1", settings.EMAIL_PORT)
    try:
        mail_queue(
            to="demo@example.jp", kind="identity_mismatch", context={"reference": "DEMO-0001"}
        )
        assert mail_deliver_due().sent == 1
    finally:
        sink.stop()
    [mail] = demo_mailbox_read()
    assert mail["to"] == "demo@example.jp" and "DEMO-0001" in mail["body"]
    with override_settings(DEBUG=True):
        from django.test import RequestFactory

        response = mailbox(RequestFactory().get("/demo/mailbox/"))
    assert "DEMO-0001" in response.content.decode()
