"""`manage.py deliver_mail` as operators run it: a separate process, stopped with SIGTERM."""

import asyncio
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.ops.procs import PYTHON, ROOT, copy_sqlite, free_port, manage, production_env, wait_until


class SlowSink:
    """An SMTP server that takes `delay` seconds to accept each message."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(envelope.rcpt_tos[0])
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture
def sink():
    server = SlowSink(delay=0.3)
    server.controller.start()
    yield server
    server.controller.stop()


def _statuses(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM mail_outboundmail ORDER BY id")]


def _start_worker(env, tmp_path):
    log = open(tmp_path / "worker.log", "w")
    process = subprocess.Popen(  # noqa: S603
        [PYTHON, "manage.py", "deliver_mail", "--idle-sleep", "0.1", "--batch-size", "50"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, log


def _queue(env, count: int) -> None:
    manage(
        "shell",
        "-c",
        "from portal.mail.services import mail_queue\n"
        f"for n in range({count}):\n"
        "    mail_queue(to=f'seeker{n}@example.jp', kind='registration_completed',"
        " context={'name': '山田太郎', 'number': '13010-00000001'})",
        env=env,
    )


@pytest.fixture
def worker_env(tmp_path, migrated_sqlite, sink):
    url = copy_sqlite(migrated_sqlite, tmp_path)
    return production_env(DATABASE_URL=url, EMAIL_HOST="127.0.0.1", EMAIL_PORT=sink.port)


def test_sigterm_while_idle_exits_cleanly(tmp_path, worker_env, sink):
    _queue(worker_env, 1)
    process, log = _start_worker(worker_env, tmp_path)
    try:
        # The mail arriving proves the worker is in its loop, signal handlers installed.
        wait_until(lambda: sink.count() == 1, what="the first mail")
        wait_until(lambda: _statuses(tmp_path / "db.sqlite3") == ["sent"], what="it marked sent")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    assert "mail worker stopped" in (tmp_path / "worker.log").read_text()


def test_sigterm_mid_batch_finishes_the_mail_in_hand_and_gives_back_the_rest(
    tmp_path, worker_env, sink
):
    _queue(worker_env, 8)
    process, log = _start_worker(worker_env, tmp_path)
    try:
        wait_until(lambda: sink.count() >= 1, what="the first mail")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    statuses = _statuses(tmp_path / "db.sqlite3")
    # Nothing left leased to a worker that is gone; every mail the SMTP server accepted is
    # recorded as sent, and the others wait for the next worker.
    assert set(statuses) <= {"sent", "queued"}
    assert statuses.count("sent") == sink.count()
    assert "queued" in statuses, "the worker stopped before draining the batch"
