import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from portal.core.clock import clock as service_clock


@pytest.fixture
def clock():
    """The service clock, frozen at the current time; advance it with clock.advance(minutes=…)."""
    service_clock.freeze()
    yield service_clock
    service_clock.unfreeze()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_CLOSED_PORT = free_port()  # bound once and released: nothing listens there


class RecordingHandler:
    """A real SMTP server's handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, address: str):
        return [m for m in self.messages if m["To"] == address]

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in Redis or, without it, in a database table, rolled back
    with each test like the database cache; Redis (CI) outlives the test, so it is emptied
    before each one."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        cache.delete_pattern("*")  # this process's key prefix only (config/settings_test.py)
    yield


@pytest.fixture(autouse=True)
def _real_smtp_backend(settings):
    """Mail always goes over real SMTP (pytest-django would swap in the locmem backend); with
    no `smtp_server` fixture it points at a closed port, so delivery fails like SMTP down."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _CLOSED_PORT


@pytest.fixture
def smtp_server(settings):
    """aiosmtpd listening on a free loopback port; the service's EMAIL_* settings point at it."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    yield server
    server.stop()


@pytest.fixture
def make_jobseeker(db):
    from portal.jobseekers.services import jobseeker_register

    counter = iter(range(1, 10_000))

    def make(**overrides):
        n = next(counter)
        raw = {
            "number": f"13010-{n:08d}",
            "name": "山田太郎",
            "name_kana": "ヤマダタロウ",
            "email": f"seeker{n}@example.jp",
            "birth_date": "1990-04-01",
        }
        raw.update(overrides)
        return jobseeker_register(raw, actor_label="test")

    return make


@pytest.fixture
def redis_commands(monkeypatch):
    """The names of the Redis commands this process sends from now on, in order."""
    from redis import Redis

    commands = []
    real = Redis.execute_command

    def counting(self, *args, **kwargs):
        commands.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", counting)
    return commands


@pytest.fixture
def client():
    """pytest-django's `client`, loading the page a failed form redirects back to."""
    from tests.browser_client import BrowserClient

    return BrowserClient()


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """LocaleMiddleware activates the request's language in this thread and leaves it there:
    a test that asked for English must not leave it to the next test."""
    yield
    from django.utils import translation

    translation.deactivate()
