"""`manage.py deliver_mail` as operators run it: a separate process, stopped with SIGTERM."""

import asyncio
import datetime as dt
import signal
import sqlite3
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

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


class StallingSink(SlowSink):
    """Takes the first message and then holds its answer until `release()`: the worker that
    sent it waits mid-batch, its other mails leased. Later messages get their 250 at once."""

    def __init__(self) -> None:
        super().__init__(delay=0)
        self.stalled = threading.Event()
        self.released = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.stalled.is_set():
            return await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.received.append(envelope.rcpt_tos[0])  # the server has the mail
        self.stalled.set()
        await asyncio.to_thread(self.released.wait, 60)
        return "250 OK"

    def recipients(self) -> Counter:
        with self.lock:
            return Counter(self.received)


@pytest.fixture
def sink():
    server = SlowSink(delay=0.3)
    server.controller.start()
    yield server
    server.controller.stop()


def _statuses(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM mail_outboundmail ORDER BY id")]


def _start_worker(env, tmp_path, *, batch_size: int = 50, name: str = "worker"):
    log = open(tmp_path / f"{name}.log", "w")
    process = subprocess.Popen(  # noqa: S603
        [
            PYTHON,
            "manage.py",
            "deliver_mail",
            "--idle-sleep",
            "0.1",
            "--batch-size",
            str(batch_size),
        ],
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


def _sqlite_rows(db: Path):
    """(to, status, lease_until, sent_at) of each mail in a SQLite file, in queue order."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            'SELECT "to", status, lease_until, sent_at FROM mail_outboundmail ORDER BY id'
        ).fetchall()

    def parse(value):
        return dt.datetime.fromisoformat(value) if value else None

    return [(to, status, parse(lease), parse(sent)) for to, status, lease, sent in rows]


def _orm_rows():
    from portal.mail.models import OutboundMail

    return list(
        OutboundMail.objects.order_by("id").values_list("to", "status", "lease_until", "sent_at")
    )


def test_a_worker_killed_mid_batch_has_its_mails_taken_over_on_sqlite(tmp_path, migrated_sqlite):
    url = copy_sqlite(migrated_sqlite, tmp_path)
    _kill_mid_batch_and_start_another(tmp_path, url, lambda: _sqlite_rows(tmp_path / "db.sqlite3"))


@pytest.mark.postgres_only
def test_a_worker_killed_mid_batch_has_its_mails_taken_over_on_postgresql(
    tmp_path, transactional_db
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    db = connection.settings_dict
    assert db["NAME"].startswith("test_"), db["NAME"]  # only pytest-django's own database
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{db['USER'] or 'postgres'}{password}@{host}/{db['NAME']}"
    _kill_mid_batch_and_start_another(tmp_path, url, _orm_rows)


def _kill_mid_batch_and_start_another(tmp_path, url, rows):
    """A worker holding a batch (its SMTP server stalls on the first mail) is killed with
    SIGKILL, and another one started: every mail arrives, only the one whose answer was lost
    twice, and none waits out the dead worker's lease (600 s)."""
    stalling = StallingSink()
    stalling.controller.start()
    env = production_env(
        DATABASE_URL=url,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=stalling.port,
        EMAIL_TIMEOUT=60,  # the stalled send outlasts the kill
        MAIL_LEASE_SECONDS=600,  # waiting out a lease would fail the test
        MAIL_WORKER_HEARTBEAT_SECONDS=1,
    )
    processes = []
    try:
        _queue(env, 8)
        first = _start_worker(env, tmp_path, batch_size=5, name="first")
        processes.append(first)
        wait_until(stalling.stalled.is_set, timeout=60, what="the first worker's first send")
        held = {to: lease for to, status, lease, _ in rows() if status == "sending"}
        assert len(held) == 5  # its batch, leased for 600 s
        first[0].send_signal(signal.SIGKILL)
        first[0].wait(timeout=30)
        stalling.released.set()  # the killed worker never hears the answer

        second = _start_worker(env, tmp_path, name="second")
        processes.append(second)
        everyone = [f"seeker{n}@example.jp" for n in range(8)]
        wait_until(
            lambda: all(status == "sent" for _, status, _, _ in rows()),
            timeout=120,
            what="every mail sent",
        )
        assert second[0].poll() is None
        second[0].send_signal(signal.SIGTERM)
        assert second[0].wait(timeout=60) == 0
    finally:
        stalling.released.set()
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
        stalling.controller.stop()
    stalled = stalling.received[0]
    assert stalled in held
    # Every mail arrived; only the one whose answer the killed worker never heard twice.
    assert stalling.recipients() == {to: 2 if to == stalled else 1 for to in everyone}
    sent_at = {to: sent for to, _, _, sent in rows()}
    for to, lease_until in held.items():
        assert sent_at[to] < lease_until, f"{to} waited out the dead worker's lease"
