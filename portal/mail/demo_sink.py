"""Demo only: a local SMTP server (aiosmtpd) that keeps each mail it receives as a file, so a
newcomer can read the auth key on the mailbox page. settings refuse it unless DEBUG is on."""

import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class _FileHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.eml"
        (self.directory / name).write_bytes(envelope.content)
        return "250 OK"


def demo_sink_start(host: str, port: int) -> Controller:
    if not (settings.DEBUG and settings.DEMO_MAILBOX):
        raise ImproperlyConfigured("The demo SMTP sink runs only with DEBUG=1 and DEMO_MAILBOX=1.")
    controller = Controller(_FileHandler(settings.DEMO_MAILBOX_DIR), hostname=host, port=port)
    controller.start()
    return controller


def demo_mailbox_read(limit: int = 50) -> list[dict]:
    directory = Path(settings.DEMO_MAILBOX_DIR)
    if not directory.exists():
        return []
    mails = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:limit]:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        mails.append(
            {
                "id": path.stem,
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"].datetime if message["Date"] else None,
                "body": message.get_body(preferencelist=("plain",)).get_content(),
            }
        )
    return mails
