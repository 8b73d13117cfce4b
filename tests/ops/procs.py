"""Subprocesses with production-like settings: `manage.py` commands and gunicorn, each on its
own database, never the test process's settings module."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

# Variables of the test process that must not leak into a production-like child.
_DROP = (
    "DATABASE_URL",
    "REDIS_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "DEMO_MAILBOX",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(**overrides) -> dict:
    """The environment of a production server: DEBUG off, a strong key, real host names,
    HTTPS-only cookies and redirects, HSTS with preload, JSON logs at INFO."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        MAIL_ENCRYPTION_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="mypage.example.go.jp,127.0.0.1",
        CSRF_TRUSTED_ORIGINS="https://mypage.example.go.jp",
        WEBAUTHN_RP_ID="mypage.example.go.jp",
        WEBAUTHN_ORIGINS="https://mypage.example.go.jp",
        SECURE_HSTS_PRELOAD="1",
        BEHIND_TLS_PROXY="1",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def proxied_env(database_url: str, static_root: Path, **overrides) -> dict:
    """A production server's environment over plain HTTP on loopback, for a database behind a
    proxy the test cuts: connections kept (so a cut meets them) and a short connect timeout.
    The cache stays in Redis when the run has one, as in production."""
    env = production_env(
        DATABASE_URL=database_url,
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        CONN_MAX_AGE="600",
        DATABASE_CONNECT_TIMEOUT="3",
        STATIC_ROOT=static_root,
        **overrides,
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def manage(*args, env: dict, timeout: float = 120, check: bool = True):
    return subprocess.run(  # noqa: S603 - our own manage.py
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def copy_sqlite(template: Path, directory: Path) -> str:
    target = directory / "db.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.05, what: str = ""):
    """Polls `predicate` until it is true; fails the test (never asserts on timing) only if
    it never becomes true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what or predicate}")


@contextmanager
def gunicorn(env: dict, *, workers: int = 1, log_path: Path):
    """gunicorn with config/gunicorn.conf.py on a free loopback port; yields the base URL."""
    port = free_port()
    env = dict(env, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers))
    with open(log_path, "w") as log:
        process = subprocess.Popen(  # noqa: S603
            [GUNICORN, "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=60, what="gunicorn to answer /healthz")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
