"""SMTP servers (aiosmtpd on a free loopback port) that do something at the moment the worker
waits for their answer to a message."""

import asyncio
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from django.db import connection

from tests.conftest import free_port


class Sink:
    """A real SMTP server whose handler is the subclass; keeps every message it was sent."""

    def __init__(self) -> None:
        self.messages = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def keep(self, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return message

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc_info):
        self.controller.stop()


class EntersTheKey(Sink):
    """Before answering 250, hands each message to `enter` and answers only once it returned,
    as a phone that fills the key in from the mail the moment it arrives. `enter` runs in a
    thread of its own with its own database connection; its results are kept in `answers`."""

    def __init__(self, enter) -> None:
        super().__init__()
        self.enter = enter
        self.answers = []

    def _enter(self, message):
        try:
            return self.enter(message)
        finally:
            connection.close()

    async def handle_DATA(self, server, session, envelope):
        message = self.keep(envelope)
        self.answers.append(await asyncio.to_thread(self._enter, message))
        return "250 OK"


class LosesTheAnswer(Sink):
    """Takes the first `times` messages and then drops the connection before its answer goes
    out: the server has the mail, the client never hears so. Later messages get their 250."""

    def __init__(self, times: int = 1) -> None:
        super().__init__()
        self.times = times

    async def handle_DATA(self, server, session, envelope):
        self.keep(envelope)
        if self.times > 0:
            self.times -= 1
            server.transport.abort()
        return "250 OK"


class RefusesRecipients(Sink):
    """Answers every RCPT TO with a refusal: the server never takes a mail."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 no such user"
