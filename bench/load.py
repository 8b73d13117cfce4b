"""Load benchmark: gunicorn on PostgreSQL + Redis on loopback, driven by an asyncio client.

    .venv/bin/python bench/load.py                  # the whole run, about 19 minutes
    .venv/bin/python bench/load.py --duration 4     # shorter steps
    .venv/bin/python bench/load.py --skip-million   # without the 1,000,000-row register
    .venv/bin/python bench/load.py --pages-only     # the floor and every page's GET, 4 minutes
    .venv/bin/python bench/load.py --flows-only     # Argon2 and whole flows, 2.5 minutes
    .venv/bin/python bench/load.py --client httpx   # httpx as the client (heavier, see below)

What it does, bounded in time (each step: `--warmup` then `--duration` measured seconds, and
`--max-seconds` for the whole run):
  * creates a throwaway PostgreSQL database `bench_load` (dropped at the end; no other
    database is touched), migrates it and loads 10,000 pending job seekers with COPY;
  * starts gunicorn (config/gunicorn.conf.py, the production settings from the environment,
    with the URLconf of bench/floor/ adding a bare view) on 127.0.0.1, Redis database
    `--redis-db` for cache and sessions, an SMTP sink in this process and
    `manage.py deliver_mail`;
  * measures at a fixed concurrency the bare view (the floor), each page's GET between two
    runs of the floor (its ratio is to the floor just before and after it: this machine's
    speed drifts within a run), and the identity POST; open loop at 100 requests/s; Argon2
    time per hash and the rate of the flow's two hashes alone; whole flows per second
    (terms → identity → key mail delivered by the worker → key + password → login), with the
    one-time password off and on, each compared with the hash-only rate measured just before
    and just after it;
  * measures the identity POST with 10,000 job seekers again, loads the register up to
    1,000,000 and measures it once more, each on a freshly started server.

Each step prints the client's view (rate, p50/p95/p99, errors) and the CPU each request or flow
cost each part of the system (gunicorn workers, the mail worker, the PostgreSQL backends of
`bench_load`, Redis), read from /proc, so the ratio to the floor can be judged by server CPU
too, whatever the load generator costs. The client is a small HTTP/1.1 client on asyncio
streams (RawClient): httpx costs about 1.2 ms of CPU per request here, more than the bare view
costs the server, and would take most of a core from the servers it measures.

Per-IP limits: every request comes from 127.0.0.1, so the bench raises every per-IP limit of
config/settings.py (IDENTITY_SUBMISSIONS_PER_IP_PER_HOUR, FLOW_STARTS_PER_IP_PER_HOUR, ...) to
1,000,000,000 and IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR to 1,000,000 by environment.
Everything else is the production default, including JSON access logs at INFO (to a file).
Plain HTTP on loopback, so the Secure-cookie and HTTPS-redirect settings are off (TLS ends at
the proxy in production).
It prints figures; it asserts nothing about time.
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import email
import json
import multiprocessing
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
BENCH_DB = "bench_load"  # the only database this script creates, writes or drops
PASSWORD = "Bench#2026pass"  # noqa: S105 - the bench users' password
BIRTH = ("1990", "4", "1")
KEY_RE = re.compile(r"認証キー：(\d+)")
OTP_RE = re.compile(r"ワンタイムパスワード：(\d+)")
ERROR_RE = re.compile(r'class="error-message"[^>]*>\s*([^<]+)<')
HIDDEN_RE = re.compile(r'name="(privacy_version|terms_version)" value="([^"]*)"')

# Job seekers: [0, SMALL) answer the identity POSTs; FLOW_ROWS more from FLOW_BASE are loaded
# before the whole flows (each flow opens one account); then [SMALL, LARGE - FLOW_ROWS) join,
# so that the second identity measurement runs on exactly LARGE job seekers.
SMALL, LARGE = 10_000, 1_000_000
FLOW_BASE, FLOW_ROWS = 5_000_000, 30_000


def address(n: int) -> str:
    return f"seeker{n:07d}@bench.example.jp"


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(args, *, smtp_port: int, otp: bool) -> dict:
    drop = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.floor.settings",
        DEBUG="0",
        SECRET_KEY=args.secret_key,
        MAIL_ENCRYPTION_KEY=args.secret_key[:43],
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"{args.pg}/{BENCH_DB}",
        REDIS_URL=f"redis://127.0.0.1:6379/{args.redis_db}",
        # Plain HTTP on loopback: TLS ends at the proxy in production.
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        # One loopback client is one IP address (module docstring).
        **{name: "1000000000" for name in per_ip_limits()},
        IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR="1000000",
        LOGIN_OTP_ENABLED="1" if otp else "0",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        LOG_LEVEL="INFO",
    )
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    return env


def per_ip_limits() -> list[str]:
    """Every per-IP limit config/settings.py reads from the environment."""
    text = (ROOT / "config" / "settings.py").read_text()
    return sorted(set(re.findall(r'env\.int\(\s*"([A-Z0-9_]*PER_IP[A-Z0-9_]*)"', text)))


class Processes:
    """gunicorn and the mail worker, started and stopped by this script only."""

    def __init__(self, args, logdir: Path, smtp_port: int) -> None:
        self.args, self.logdir, self.smtp_port = args, logdir, smtp_port
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.starts = 0
        self.web_log: Path | None = None

    def start_web(self, *, otp: bool) -> None:
        self.stop_web()
        env = server_env(self.args, smtp_port=self.smtp_port, otp=otp)
        env["GUNICORN_BIND"] = f"127.0.0.1:{self.port}"
        self.starts += 1
        name = f"gunicorn-{self.starts}-otp-{'on' if otp else 'off'}.log"
        self.web_log = self.logdir / name
        log = open(self.web_log, "w")
        self.web = subprocess.Popen(
            [GUNICORN, "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {log.name}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not become ready in 60 s")

    def start_worker(self) -> None:
        if self.worker is not None:
            return
        env = server_env(self.args, smtp_port=self.smtp_port, otp=False)
        log = open(self.logdir / "deliver_mail.log", "w")
        self.worker = subprocess.Popen(
            [PYTHON, "manage.py", "deliver_mail"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    @staticmethod
    def _stop(process: subprocess.Popen | None) -> None:
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_web(self) -> None:
        self._stop(self.web)
        self.web = None

    def stop_worker(self) -> None:
        self._stop(self.worker)
        self.worker = None

    def stop(self) -> None:
        self.stop_worker()
        self.stop_web()


def manage(args, *argv: str) -> None:
    env = server_env(args, smtp_port=1, otp=False)
    subprocess.run([PYTHON, "manage.py", *argv], cwd=ROOT, env=env, check=True)


# --- the throwaway database -------------------------------------------------------------------


def pg_admin(args, sql: str) -> None:
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def db_create(args) -> None:
    pg_admin(args, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    pg_admin(args, f"CREATE DATABASE {BENCH_DB}")


def db_drop(args) -> None:
    pg_admin(args, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def db_sql(args, sql: str, params=None):
    with psycopg.connect(f"{args.pg}/{BENCH_DB}", autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def seekers_load(args, start: int, stop: int) -> float:
    """Pending job seekers [start, stop) by COPY; returns the seconds it took."""
    began = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    birth = dt.date(int(BIRTH[0]), int(BIRTH[1]), int(BIRTH[2]))
    with psycopg.connect(f"{args.pg}/{BENCH_DB}") as conn:
        with conn.cursor() as cursor:
            with cursor.copy(
                "COPY jobseekers_jobseeker (number, name, name_kana, email, birth_date, office,"
                " status, created_at, updated_at) FROM STDIN"
            ) as copy:
                for n in range(start, stop):
                    copy.write_row(
                        (
                            f"13010-{n:08d}",
                            "求職太郎",
                            "キュウショクタロウ",
                            address(n),
                            birth,
                            "ハローワーク飯田橋",
                            "pending",
                            now,
                            now,
                        )
                    )
        conn.commit()
    db_sql(args, "ANALYZE jobseekers_jobseeker")
    return time.perf_counter() - began


# --- CPU accounting -------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU seconds used by each part of the system under test: gunicorn's workers, the mail
    worker, the PostgreSQL backends of the bench database, Redis (a shared server), and this
    process (the load generator and its SMTP sink)."""

    def __init__(self, args) -> None:
        self.args = args
        self.procs: Processes | None = None
        self.redis_pid = None
        with contextlib.suppress(Exception):
            out = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True)
            self.redis_pid = int(out.stdout.split()[0])

    def _pg_pids(self) -> list[int]:
        with psycopg.connect(f"{self.args.pg}/postgres", autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [BENCH_DB]
            ).fetchall()
        return [r[0] for r in rows]

    def snapshot(self) -> dict:
        web = self.procs.web.pid if self.procs and self.procs.web else None
        worker = self.procs.worker.pid if self.procs and self.procs.worker else None
        return {
            "web": {p: _proc_cpu(p) for p in (_children(web) if web else [])},
            "worker": {worker: _proc_cpu(worker)} if worker else {},
            "db": {p: _proc_cpu(p) for p in self._pg_pids()},
            "redis": {self.redis_pid: _proc_cpu(self.redis_pid)} if self.redis_pid else {},
            "client": {0: time.process_time()},
            "machine": {0: _machine_busy()},
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict:
        """CPU seconds per part between two snapshots (a process new in `after` counts from 0)."""
        return {
            part: sum(v - before[part].get(pid, 0.0) for pid, v in after[part].items())
            for part in after
        }


def _machine_busy() -> float:
    """CPU seconds spent by everything on the machine, all cores (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


METER: CpuMeter | None = None


# --- the SMTP sink ----------------------------------------------------------------------------


# Seconds between a mail's arrival and the user typing its code. The worker records a mail as
# delivered just after the SMTP server accepted it, and the service refuses a key typed before
# that record as a wrong key; a person takes seconds, the bench one second on average. The
# time varies as people do: a fixed one keeps users who got their mails in one batch of the
# worker in step, and the whole flows then come in waves that leave the cores idle between
# them.
READ_DELAY = (0.5, 1.5)  # uniform, seconds


def _resolve(future: asyncio.Future, value: str) -> None:
    if not future.done():
        future.set_result(value)


class _SmtpSinkProtocol(asyncio.Protocol):
    """The server side of what the mail worker's smtplib says (EHLO or HELO, MAIL, RCPT, DATA,
    RSET, NOOP, QUIT), on the bench's event loop: 0.21-0.25 ms of CPU per mail where aiosmtpd
    took 0.55 ms, and this process shares the cores with the servers it measures."""

    def __init__(self, sink: "Sink") -> None:
        self.sink = sink
        self.buffer = b""
        self.in_data = False
        self.rcpt_tos: list[str] = []

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                content = self.buffer[: end + 2].replace(b"\r\n..", b"\r\n.")  # unstuff
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                self.sink.received(self.rcpt_tos, content)
                self.rcpt_tos = []
                self.transport.write(b"250 OK\r\n")
                continue
            line, found, rest = self.buffer.partition(b"\r\n")
            if not found:
                return
            self.buffer = rest
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.transport.write(b"250-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb in (b"HELO", b"NOOP"):
                self.transport.write(b"250 OK\r\n")
            elif verb in (b"MAIL", b"RSET"):
                self.rcpt_tos = []
                self.transport.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                address = line.partition(b"<")[2].partition(b">")[0]
                self.rcpt_tos.append(address.decode("utf-8", "replace"))
                self.transport.write(b"250 OK\r\n")
            elif verb == b"DATA":
                self.in_data = True
                self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 Bye\r\n")
                self.transport.close()
                return
            else:
                self.transport.write(b"502 Command not implemented\r\n")


class Sink:
    """An SMTP sink on this process's event loop; hands each mail's body to whoever waits for
    a mail to that address matching a pattern, drops the rest."""

    def __init__(self) -> None:
        self.port = free_port()
        self.waiting: dict[str, list[tuple[re.Pattern, asyncio.Future]]] = {}
        self.received_count = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _SmtpSinkProtocol(self), "127.0.0.1", self.port
        )

    def received(self, rcpt_tos: list[str], content: bytes) -> None:
        self.received_count += 1
        if not any(self.waiting.get(rcpt) for rcpt in rcpt_tos):
            return  # nobody reads it (a notice after the flow's own steps)
        # The service sends single-part text mails: the legacy parser decodes one in a tenth
        # of the time the modern policy takes to build its header objects.
        message = email.message_from_bytes(content)
        body = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
        for rcpt in rcpt_tos:
            for entry in list(self.waiting.get(rcpt, [])):
                pattern, future = entry
                found = pattern.search(body)
                if found and not future.done():
                    # The user reads the mail a moment later (READ_DELAY).
                    loop = asyncio.get_running_loop()
                    delay = random.uniform(*READ_DELAY)
                    loop.call_later(delay, _resolve, future, found.group(1))
                    self.waiting[rcpt].remove(entry)
                    break

    def expect(self, to: str, pattern: re.Pattern) -> asyncio.Future:
        """Register before the request that causes the mail, so it cannot be missed."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(to, []).append((pattern, future))
        return future

    def forget(self, to: str) -> None:
        self.waiting.pop(to, None)


# --- HTTP clients -----------------------------------------------------------------------------


class RawHeaders:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.pairs if k == name]

    def __getitem__(self, name: str) -> str:
        found = self.get_list(name)
        if not found:
            raise KeyError(name)
        return found[-1]


class RawResponse:
    def __init__(self, status: int, headers: RawHeaders, body: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class RawClient:
    """HTTP/1.1 over asyncio streams, one connection per request as gunicorn's sync workers
    close each one anyway. httpx costs this machine about 1.2 ms of CPU per request (more
    than the bare view itself costs the server); this costs about 0.2 ms, so the load
    generator takes less of the cores it shares with the servers (`--client httpx` to
    compare)."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port, self.timeout = host, int(port), timeout

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    async def get(self, url: str, headers: dict | None = None) -> RawResponse:
        return await self.request("GET", url, headers=headers)

    async def request(self, method, url, data=None, headers=None) -> RawResponse:
        return await asyncio.wait_for(self._request(method, url, data, headers), self.timeout)

    async def _request(self, method, url, data, headers) -> RawResponse:
        body = urlencode(data).encode() if data is not None else b""
        lines = [f"{method} {url} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if method == "POST":
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body)
            raw = await reader.read()  # to EOF: the server closes the connection
        finally:
            writer.close()
        head, _, content = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        pairs = []
        for line in header_lines:
            name, _, value = line.partition(":")
            pairs.append((name.strip().lower(), value.strip()))
        headers = RawHeaders(pairs)
        if "chunked" in headers.get_list("transfer-encoding"):
            content = _dechunk(content)
        return RawResponse(int(status_line.split()[1]), headers, content)


def _dechunk(data: bytes) -> bytes:
    out, rest = b"", data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def http_client(args, base_url: str):
    if args.client == "httpx":
        limits = httpx.Limits(max_connections=1024, max_keepalive_connections=0)
        return httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits)
    return RawClient(base_url)


# --- a browser --------------------------------------------------------------------------------


class StepError(Exception):
    pass


class Browser:
    """One user's cookies over the shared HTTP client. The CSRF cookie is this browser's own
    random secret, sent back in each form as a browser would after a GET."""

    def __init__(self, http) -> None:
        self.http = http
        self.cookies = {"csrftoken": secrets.token_hex(16)}

    def _absorb(self, response) -> None:
        for header in response.headers.get_list("set-cookie"):
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            if value in ("", '""') or "max-age=0" in attributes.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    async def request(self, method: str, url: str, data=None, expect=(200,)):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if method == "POST":
            data = {**(data or {}), "csrfmiddlewaretoken": self.cookies["csrftoken"]}
        response = await self.http.request(method, url, data=data, headers=headers)
        self._absorb(response)
        if response.status_code not in expect:
            found = ERROR_RE.search(response.text) if response.status_code == 200 else None
            why = f": {found.group(1).strip()[:120]}" if found else ""
            raise StepError(f"{method} {url} answered {response.status_code}{why}")
        return response

    async def get(self, url: str) -> httpx.Response:
        return await self.request("GET", url)

    async def post(self, url: str, data: dict, *, to: str | None = None) -> httpx.Response:
        """POST → 302; checks the redirect target when `to` is given."""
        response = await self.request("POST", url, data, expect=(302,))
        if to is not None and response.headers["location"] != to:
            raise StepError(f"POST {url} went to {response.headers['location']}, not {to}")
        return response


@dataclass
class Versions:
    privacy_version: str = ""
    terms_version: str = ""


VERSIONS = Versions()


async def refresh_versions(http) -> None:
    """The versions of the terms the server shows (read again after each server start)."""
    terms = await http.get("/register/")
    VERSIONS.__dict__.update(dict(HIDDEN_RE.findall(terms.text)))


async def agree(b: Browser) -> None:
    await b.post(
        "/register/",
        {
            "agree": "on",
            "privacy_version": VERSIONS.privacy_version,
            "terms_version": VERSIONS.terms_version,
        },
        to="/register/identity/",
    )


async def submit_identity(b: Browser, to: str) -> None:
    year, month, day = BIRTH
    await b.post(
        "/register/identity/",
        {"email": to, "birth_year": year, "birth_month": month, "birth_day": day},
        to="/register/password/",
    )


async def register(b: Browser, sink: Sink, n: int, *, browse: bool) -> None:
    """A whole registration as a browser does it (`browse`: also every page on the way)."""
    to = address(n)
    if browse:
        await b.get("/register/")
    await agree(b)
    if browse:
        await b.get("/register/identity/")
    key_mail = sink.expect(to, KEY_RE)
    await submit_identity(b, to)
    if browse:
        await b.get("/register/password/")
    key = await asyncio.wait_for(key_mail, timeout=120)
    await b.post(
        "/register/password/",
        {"password1": PASSWORD, "password2": PASSWORD, "key": key},
        to="/register/done/",
    )
    if browse:
        await b.get("/register/done/")


async def login(b: Browser, sink: Sink, n: int, *, otp: bool, browse: bool) -> None:
    to = address(n)
    if browse:
        await b.get("/login/")
    otp_mail = sink.expect(to, OTP_RE) if otp else None
    response = await b.post("/login/", {"login_id": to, "password": PASSWORD})
    if otp:
        if response.headers["location"] != "/login/otp/":
            raise StepError(f"login went to {response.headers['location']}")
        if browse:
            await b.get("/login/otp/")
        code = await asyncio.wait_for(otp_mail, timeout=120)
        response = await b.post("/login/otp/", {"code": code})
    sink.forget(to)
    if response.headers["location"] != "/mypage/":
        raise StepError(f"login ended at {response.headers['location']}")
    if browse:
        await b.get("/mypage/")


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    concurrency: str
    window: float = 0.0
    latencies: list = field(default_factory=list)
    errors: int = 0
    error_samples: list = field(default_factory=list)
    client_cpu: float = 0.0
    units: str = "req"
    cpu: dict = field(default_factory=dict)  # CPU seconds per part over the measured window
    ended: int = 0  # actions that ended between the CPU snapshots (the measured window)
    cpu_wall: float = 0.0  # seconds between the CPU snapshots
    hash_rates: tuple = ()  # whole flows: the hash-only rate just before and just after
    wall_window: tuple = ()  # the measured window in epoch seconds
    warmup: float = 0.0
    ends: list = field(default_factory=list)  # seconds from the start at which actions ended
    busy_timeline: list = field(default_factory=list)  # share of all cores busy, per second
    request_cpu: dict = field(default_factory=dict)  # "POST view" -> web CPU ms per action

    @property
    def machine_busy(self) -> float:
        """Share of all cores busy (with anything) between the snapshots."""
        cores = os.cpu_count() or 1
        return self.cpu.get("machine", 0.0) / (cores * self.cpu_wall) if self.cpu_wall else 0.0

    def cpu_ms(self, *parts: str) -> float:
        """CPU milliseconds per counted action, summed over `parts`."""
        if not self.ended:
            return float("nan")
        return sum(self.cpu.get(p, 0.0) for p in parts) * 1000 / self.ended

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.window if self.window else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(f"{type(exc).__name__}: {exc}")


def merged(name: str, *parts: Result) -> Result:
    """Several runs of one step as one."""
    result = Result(name, parts[0].concurrency, units=parts[0].units)
    for part in parts:
        result.window += part.window
        result.latencies += part.latencies
        result.errors += part.errors
        result.ended += part.ended
        result.client_cpu += part.client_cpu / len(parts)
        result.cpu_wall += part.cpu_wall
        for key, value in part.cpu.items():
            result.cpu[key] = result.cpu.get(key, 0.0) + value
    return result


class Clock:
    def __init__(self, warmup: float, duration: float) -> None:
        self.start = time.perf_counter()
        self.measure_from = self.start + warmup
        self.stop = self.measure_from + duration

    def wall(self, moment: float) -> float:
        """A perf_counter moment as epoch seconds (the servers' log timestamps)."""
        return moment + time.time() - time.perf_counter()


async def closed_loop(name, *, concurrency, warmup, duration, setup, action, units="req"):
    """`concurrency` users, each: `setup(i)` once (not measured), then `action(state)` again
    and again until the window closes; actions that end inside the window are counted (the
    rate) and their latencies kept."""
    result = Result(name, str(concurrency), units=units)
    states = await asyncio.gather(*(setup(i) for i in range(concurrency)), return_exceptions=True)
    clock = Clock(warmup, duration)
    cpu_start = None
    snapshot = None

    async def user(state):
        nonlocal cpu_start
        if isinstance(state, BaseException):
            result.error(state)
            return
        while (started := time.perf_counter()) < clock.stop:
            try:
                own = await action(state)
            except Exception as exc:  # noqa: BLE001 - counted and shown
                if time.perf_counter() >= clock.measure_from:
                    result.error(exc)
                await asyncio.sleep(0.1)  # a failing step does not spin
                continue
            ended = time.perf_counter()
            result.ends.append(ended - clock.start)
            if clock.measure_from <= ended <= clock.stop:
                result.ended += 1
                # An action may time its own part (a float); else the whole action counts.
                result.latencies.append(own if isinstance(own, float) else ended - started)

    async def busy_sampler():
        # The share of all cores busy, second by second from the start: shows whether the
        # window saw a steady state.
        cores = os.cpu_count() or 1
        last = _machine_busy()
        while time.perf_counter() < clock.stop:
            await asyncio.sleep(1.0)
            now = _machine_busy()
            result.busy_timeline.append((now - last) / cores)
            last = now

    async def cpu_mark():
        # CPU is read at the window's two ends and divided by the actions that ended inside
        # it: in steady state that is the cost per action. Reading on until the last user
        # stops would add the drain, where flows end whose work was mostly done before.
        nonlocal cpu_start, snapshot
        await asyncio.sleep(max(0.0, clock.measure_from - time.perf_counter()))
        cpu_start = time.process_time()
        snapshot = METER.snapshot() if METER else None
        snapshot_at = time.perf_counter()
        await asyncio.sleep(max(0.0, clock.stop - time.perf_counter()))
        result.client_cpu = (time.process_time() - cpu_start) / (time.perf_counter() - snapshot_at)
        if snapshot is not None:
            result.cpu = CpuMeter.spent(snapshot, METER.snapshot())
            result.cpu_wall = time.perf_counter() - snapshot_at

    await asyncio.gather(cpu_mark(), busy_sampler(), *(user(s) for s in states))
    result.window = clock.stop - clock.measure_from
    result.warmup = clock.measure_from - clock.start
    result.wall_window = (clock.wall(clock.measure_from), clock.wall(clock.stop))
    return result


async def open_loop(name, *, rate, warmup, duration, action):
    """Requests started at a fixed rate whatever the answers; each latency counts from the
    moment its request was due (no coordinated omission)."""
    result = Result(name, f"{rate:g}/s", units="open")
    clock = Clock(warmup, duration)
    tasks = []
    interval = 1.0 / rate
    n = 0
    cpu_start = None
    snapshot = None

    async def one(due, i):
        try:
            await action(i)
        except Exception as exc:  # noqa: BLE001
            if due >= clock.measure_from:
                result.error(exc)
            return
        if due >= clock.measure_from:
            result.latencies.append(time.perf_counter() - due)
            result.ended += 1

    while (due := clock.start + n * interval) < clock.stop:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if cpu_start is None and due >= clock.measure_from:
            cpu_start = time.process_time()
            snapshot = METER.snapshot() if METER else None
            snapshot_at = time.perf_counter()
        tasks.append(asyncio.create_task(one(due, n)))
        n += 1
    await asyncio.gather(*tasks)
    if snapshot is not None:
        result.cpu = CpuMeter.spent(snapshot, METER.snapshot())
        result.cpu_wall = time.perf_counter() - snapshot_at
    ended = time.perf_counter()
    result.window = clock.stop - clock.measure_from
    result.client_cpu = (time.process_time() - cpu_start) / (ended - clock.measure_from)
    return result


def timeline(result: Result, bucket: float) -> str:
    """Actions ended and cores busy per `bucket` seconds from the start, the window marked."""
    slots = int((result.warmup + result.window) // bucket)
    ended = [0] * slots
    for moment in result.ends:
        if int(moment // bucket) < slots:
            ended[int(moment // bucket)] += 1
    busy = [
        statistics.mean(result.busy_timeline[int(i * bucket) : int((i + 1) * bucket)] or [0])
        for i in range(slots)
    ]
    first = int(result.warmup // bucket)
    cells = [f"{n}/{b:.0%}" for n, b in zip(ended, busy, strict=True)]
    return (
        f"{result.units}s ended / cores busy per {bucket:g} s: "
        + " ".join(cells[:first])
        + " | "
        + " ".join(cells[first:])
    )


def request_cpu(log: Path | None, result: Result) -> dict:
    """Web CPU per counted action, by request ("POST accounts:login"), from the access-log
    lines the workers wrote inside the measured window (each has the request's CPU time)."""
    if log is None or not result.ended or not result.wall_window:
        return {}
    start, stop = result.wall_window
    spent: dict[str, float] = {}
    for line in log.read_text().splitlines():
        if '"portal.access"' not in line:
            continue
        record = json.loads(line)
        moment = dt.datetime.fromisoformat(record["timestamp"]).timestamp()
        if start <= moment <= stop and "cpu_ms" in record:
            name = f"{record['method']} {record['view']}"
            spent[name] = spent.get(name, 0.0) + record["cpu_ms"]
    return {name: ms / result.ended for name, ms in sorted(spent.items())}


# --- Argon2 -----------------------------------------------------------------------------------


def _django_hashers(params: dict):
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            PASSWORD_HASHERS=["portal.accounts.hashers.TunedArgon2PasswordHasher"],
            ARGON2_TIME_COST=params["t"],
            ARGON2_MEMORY_COST_KIB=params["m"],
            ARGON2_PARALLELISM=params["p"],
            # One hashing process per core already: no slots needed (portal/accounts/hashers.py).
            ARGON2_CONCURRENCY=0,
        )
        django.setup()
    from django.contrib.auth.hashers import check_password, make_password

    return make_password, check_password


def _hash_pairs(params: dict, seconds: float, queue) -> None:
    make_password, check_password = _django_hashers(params)
    pairs, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        encoded = make_password(PASSWORD)  # registration: the new password's hash
        check_password(PASSWORD, encoded)  # login: its verification
        pairs += 1
    queue.put(pairs)


def hash_pair_rate(params: dict, seconds: float) -> float:
    """hash+verify pairs per second with every core busy: the ceiling of whole flows per
    second, in this machine's state of the moment."""
    sys.path.insert(0, str(ROOT))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_hash_pairs, args=(params, seconds, queue))
        for _ in range(os.cpu_count() or 1)
    ]
    for w in workers:
        w.start()
    pairs = sum(queue.get() for _ in workers)
    for w in workers:
        w.join()
    return pairs / seconds


def argon2_figures(params: dict, seconds: float) -> dict:
    """Time per hash (one process, idle machine) and the hash-only rate of flows."""
    sys.path.insert(0, str(ROOT))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    single = context.Process(target=_single_hash_times, args=(params, queue))
    single.start()
    times = queue.get()
    single.join()
    return {
        **times,
        "pairs_per_s": hash_pair_rate(params, seconds),
        "cores": os.cpu_count() or 1,
    }


def _single_hash_times(params: dict, queue) -> None:
    make_password, check_password = _django_hashers(params)
    make_password(PASSWORD)
    hashes, checks = [], []
    for _ in range(30):
        t0 = time.perf_counter()
        encoded = make_password(PASSWORD)
        t1 = time.perf_counter()
        check_password(PASSWORD, encoded)
        t2 = time.perf_counter()
        hashes.append(t1 - t0)
        checks.append(t2 - t1)
    queue.put(
        {"hash_ms": statistics.median(hashes) * 1000, "verify_ms": statistics.median(checks) * 1000}
    )


# --- the run ----------------------------------------------------------------------------------


SERVER = ("web", "worker", "db", "redis")


def row(r: Result, floor: Result | None) -> str:
    """One line: rate and latency as the client saw them, and the CPU each counted action
    cost the server side (gunicorn workers, mail worker, PostgreSQL, Redis)."""
    comparable = floor is not None and r.units in ("req", "post") and r is not floor
    by_rate = f"{r.rate / floor.rate:.0%}" if comparable and floor.rate else ""
    server_ms = r.cpu_ms(*SERVER)
    by_cpu = f"{floor.cpu_ms(*SERVER) / server_ms:.0%}" if comparable and server_ms else ""
    return (
        f"{r.name:<46} {r.concurrency:>6} {r.rate:>8.1f} {r.pct(50):>7.1f} {r.pct(95):>7.1f} "
        f"{r.pct(99):>7.1f} {r.errors:>4} {by_rate:>6} {r.cpu_ms('web'):>7.2f} "
        f"{r.cpu_ms('db', 'redis'):>7.2f} {server_ms:>7.2f} {by_cpu:>6} {r.client_cpu:>6.0%} "
        f"{r.machine_busy:>5.0%}"
    )


HEADER = (
    f"{'step':<46} {'conc.':>6} {'rate/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    f"{'err':>4} {'÷floor':>6} {'web ms':>7} {'db ms':>7} {'srv ms':>7} {'÷floor':>6} "
    f"{'client':>6} {'busy':>5}\n"
    f"{'':<46} {'':>6} {'(client view)':>31} {'':>4} {'rate':>6} "
    f"{'server CPU per request or flow':>23} {'CPU':>6} {'CPU':>6} {'cores':>5}"
)


class Run:
    def __init__(self, args) -> None:
        self.args = args
        self.results: list[Result] = []
        self.floor: Result | None = None
        # Each page's own floor: the floor measured just before and just after it, so that
        # the machine's drift over the run (its floor has moved by half between steps of one
        # run) does not land in the page's ratio.
        self.last_floor: Result | None = None
        self.page_floors: dict[str, Result] = {}
        self.identity_pool = list(range(SMALL))
        self.next_flow_seeker = FLOW_BASE
        self.lines: list[str] = []

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def show(self, r: Result) -> None:
        self.results.append(r)
        self.say(row(r, self.floor))
        for sample in r.error_samples:
            self.say(f"    error: {sample}")

    def flow_seeker(self) -> int:
        n = self.next_flow_seeker
        if n >= FLOW_BASE + FLOW_ROWS:
            raise StepError("out of job seekers for whole flows; shorten --duration")
        self.next_flow_seeker += 1
        return n

    async def page(self, http, name, url, setup=None, concurrency=None):
        async def make(i):
            b = Browser(http)
            if setup:
                await setup(b)
            return b

        result = await closed_loop(
            f"GET {url} ({name})",
            concurrency=concurrency or self.args.concurrency,
            warmup=self.args.warmup,
            duration=self.args.duration,
            setup=make,
            action=lambda b: b.get(url),
        )
        self.show(result)
        return result

    async def floor_step(self, http, name: str = "floor: bare view") -> Result:
        self.last_floor = await self.page(http, name, "/bench/bare")
        return self.last_floor

    async def bracketed_page(self, http, name, url, setup=None) -> Result:
        """A page's GET between two runs of the floor; its ratio is to their mean."""
        before = self.last_floor
        result = await self.page(http, name, url, setup)
        after = await self.floor_step(http, f"floor, after {name}")
        self.page_floors[result.name] = merged(f"floor around {name}", before, after)
        return result

    async def identity_step(self, http, label: str, pool: list[int]) -> Result:
        """② POSTs, each on a new flow: the terms POST before it is done but not timed, so
        the server handles two requests per identity POST counted here."""

        async def make(i):
            return Browser(http)

        async def action(b: Browser) -> float:
            b.cookies.pop("sessionid", None)
            await agree(b)
            started = time.perf_counter()
            await submit_identity(b, address(random.choice(pool)))
            return time.perf_counter() - started

        result = await closed_loop(
            f"POST ② identity, {label} (+terms POST)",
            concurrency=self.args.concurrency,
            warmup=self.args.warmup,
            duration=self.args.duration,
            setup=make,
            action=action,
            units="post",
        )
        self.show(result)
        return result

    async def flows_step(self, http, sink, *, otp: bool, browse: bool) -> Result:
        """Whole flows by `--flow-concurrency` users. `browse`: as a browser does it, every
        page's GET after each POST's redirect; else the form POSTs alone (terms, identity,
        key + password, login, and the one-time password when on)."""

        warmup = max(self.args.warmup, 20.0)

        async def make(i):
            return [i]

        async def one_flow(first_start: list) -> float:
            if first_start:
                # Users start spread over the warm-up, not all at once: started together, they
                # would move in waves as long as a flow, and a window could fall between two.
                await asyncio.sleep(warmup * 0.75 * first_start.pop() / self.args.flow_concurrency)
            started = time.perf_counter()
            b = Browser(http)
            n = self.flow_seeker()
            await register(b, sink, n, browse=browse)
            await login(b, sink, n, otp=otp, browse=browse)
            return time.perf_counter() - started

        how = "every page" if browse else "form POSTs only"
        # The hash-only rate right before and right after, so that the comparison holds
        # whatever this machine's speed does over the run.
        params = dict(zip("tmp", self.args.argon2, strict=True))
        rate_before = hash_pair_rate(params, self.args.duration)
        result = await closed_loop(
            f"whole flow, OTP {'on' if otp else 'off'}, {how}",
            concurrency=self.args.flow_concurrency,
            # A flow takes seconds (it waits for mails): a longer warm-up fills the pipeline,
            # and a longer window holds many flows.
            warmup=warmup,
            duration=max(self.args.duration * 3, 60.0),
            setup=make,
            action=one_flow,
            units="flow",
        )
        result.request_cpu = request_cpu(METER.procs.web_log, result)
        result.hash_rates = (rate_before, hash_pair_rate(params, self.args.duration))
        self.show(result)
        return result

    async def main(self) -> None:
        args = self.args
        logdir = Path(tempfile.mkdtemp(prefix="mypage-bench-"))
        self.say(
            f"mypage bench — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before starting, "
            f"logs in {logdir}"
        )
        if os.getloadavg()[0] > 0.5:
            self.say("  (the machine is busy with something else: figures will be lower)")
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(f"redis://127.0.0.1:6379/{args.redis_db}").flushdb()
        db_create(args)
        sink = Sink()
        await sink.start()
        procs = Processes(args, logdir, sink.port)
        global METER
        METER = CpuMeter(args)
        METER.procs = procs
        try:
            manage(args, "migrate", "--noinput", "-v0")
            manage(args, "collectstatic", "--noinput", "-v0")
            loaded = seekers_load(args, 0, SMALL)
            self.say(f"loaded {SMALL:,} job seekers by COPY in {loaded:.1f} s")
            await self.run_steps(procs, sink)
        finally:
            procs.stop()
            sink.server.close()
            if not args.keep_db:
                db_drop(args)
            with contextlib.suppress(Exception):
                import redis

                redis.Redis.from_url(f"redis://127.0.0.1:6379/{args.redis_db}").flushdb()
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    [
                        {
                            "step": r.name,
                            "concurrency": r.concurrency,
                            "rate": r.rate,
                            "p50": r.pct(50),
                            "p95": r.pct(95),
                            "p99": r.pct(99),
                            "errors": r.errors,
                            "client_cpu": r.client_cpu,
                        }
                        for r in self.results
                    ],
                    indent=1,
                )
            )

    async def run_steps(self, procs: Processes, sink: Sink) -> None:
        args = self.args
        procs.start_web(otp=False)
        async with http_client(args, procs.base) as http:
            await refresh_versions(http)
            workers = re.search(
                r"starting (\d+) workers",
                (procs.logdir / "gunicorn-1-otp-off.log").read_text(),
            )
            self.say(
                f"gunicorn {workers.group(1) if workers else '?'} sync workers; PostgreSQL "
                f"{BENCH_DB}; Redis db {args.redis_db}; Argon2id t={args.argon2[0]} "
                f"m={args.argon2[1]} KiB p={args.argon2[2]}; limits raised: "
                f"{', '.join(per_ip_limits())}, IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR; "
                f"steps: {args.warmup:g} s warm-up + {args.duration:g} s; "
                f"client: {args.client}"
            )
            await self.warm(http)
            if args.flows_only:
                await self.run_flows_only(procs, http, sink)
                return
            self.say()
            self.say(HEADER)
            first_floor = await self.floor_step(http)
            self.floor = first_floor
            for name, url, setup in (
                ("top", "/", None),
                ("① terms", "/register/", None),
                ("terms document", "/terms/privacy/", None),
                ("② identity", "/register/identity/", agree),
                ("③ key and password", "/register/password/", self._at_password),
                ("login", "/login/", None),
                ("password reset", "/password-reset/", None),
            ):
                await self.bracketed_page(http, name, url, setup)
            self.floor = merged(
                "floor: bare view, first and last runs", first_floor, self.last_floor
            )
            if args.pages_only:
                await self.seekers_for_flows(procs)
                self.say(HEADER)
                await self.pages_after_registration(http, sink)
                procs.start_web(otp=True)
                await refresh_versions(http)
                await self.otp_page(http, sink)
                self.summary_pages()
                return
            identity_small = await self.identity_step(
                http, f"{SMALL:,} seekers", self.identity_pool
            )

            pages = ["/", "/register/", "/login/", "/password-reset/", "/terms/privacy/"]

            async def mixed(i):
                await Browser(http).get(pages[i % len(pages)])

            self.show(
                await open_loop(
                    "GET page mix (open loop)",
                    rate=args.rate,
                    warmup=args.warmup,
                    duration=args.duration,
                    action=mixed,
                )
            )

            async def start_flow(i):
                b = Browser(http)
                await agree(b)
                await submit_identity(b, address(random.choice(self.identity_pool)))

            self.show(
                await open_loop(
                    "terms POST + identity POST (open loop)",
                    rate=args.rate / 2,
                    warmup=args.warmup,
                    duration=args.duration,
                    action=start_flow,
                )
            )

            argon = await self.flows_setup(procs)
            flows = [
                await self.flows_step(http, sink, otp=False, browse=False),
                await self.flows_step(http, sink, otp=False, browse=True),
            ]

            await self.pages_after_registration(http, sink)
            procs.start_web(otp=True)
            await refresh_versions(http)
            flows.append(await self.flows_step(http, sink, otp=True, browse=False))
            await self.otp_page(http, sink)

            identity_large = None
            if not args.skip_million:
                # The two sizes are compared in two adjacent steps, each on a server started
                # afresh, so that neither the machine's drift over the run nor what the earlier
                # steps left in the processes lands in the ratio.
                procs.stop_worker()
                procs.start_web(otp=False)
                await refresh_versions(http)
                await self.page(http, "floor again", "/bench/bare")
                identity_small = await self.identity_step(
                    http, f"{SMALL:,} seekers, again", self.identity_pool
                )
                procs.stop_web()
                loaded = seekers_load(args, SMALL, LARGE - FLOW_ROWS)
                self.say(
                    f"loaded {LARGE - FLOW_ROWS - SMALL:,} more job seekers by COPY in "
                    f"{loaded:.1f} s: {LARGE:,} in all"
                )
                procs.start_web(otp=False)
                await refresh_versions(http)
                await self.page(http, "floor again, 1,000,000 seekers", "/bench/bare")
                pool = list(range(LARGE - FLOW_ROWS))
                identity_large = await self.identity_step(http, f"{LARGE:,} seekers", pool)

        self.summary(argon, flows, identity_small, identity_large)

    async def seekers_for_flows(self, procs: Processes) -> None:
        """Job seekers for whole flows, and the mail worker that delivers their keys."""
        loaded = seekers_load(self.args, FLOW_BASE, FLOW_BASE + FLOW_ROWS)
        self.say(f"loaded {FLOW_ROWS:,} job seekers for whole flows in {loaded:.1f} s")
        # Whole flows need the worker; the identity steps' mails are not waited for.
        db_sql(
            self.args,
            "UPDATE mail_outboundmail SET status = 'suppressed' WHERE status = 'queued'",
        )
        procs.start_worker()
        self.say()

    async def pages_after_registration(self, http, sink: Sink) -> None:
        """④ and My Page, each browser registered (and logged in) through the pages first."""

        async def registered(b: Browser):
            await register(b, sink, self.flow_seeker(), browse=False)

        async def logged_in(b: Browser):
            n = self.flow_seeker()
            await register(b, sink, n, browse=False)
            await login(b, sink, n, otp=False, browse=False)

        await self.floor_step(http, "floor, before ④")
        await self.bracketed_page(http, "④ done", "/register/done/", registered)
        await self.bracketed_page(http, "My Page (logged in)", "/mypage/", logged_in)

    async def otp_page(self, http, sink: Sink) -> None:
        """The one-time-password page (the server must run with the one-time password on)."""

        async def at_otp(b: Browser):
            n = self.flow_seeker()
            await register(b, sink, n, browse=False)
            await b.post(
                "/login/", {"login_id": address(n), "password": PASSWORD}, to="/login/otp/"
            )

        await self.floor_step(http, "floor, one-time password on")
        await self.bracketed_page(http, "one-time password", "/login/otp/", at_otp)

    async def flows_setup(self, procs: Processes) -> dict:
        """Job seekers for whole flows, the mail worker, and the Argon2 figures."""
        await self.seekers_for_flows(procs)
        argon = argon2_figures(
            dict(zip("tmp", self.args.argon2, strict=True)), seconds=self.args.duration
        )
        self.say(
            f"Argon2id per hash: {argon['hash_ms']:.1f} ms (verify {argon['verify_ms']:.1f} "
            f"ms), one process; hash+verify pairs with all {argon['cores']} cores busy: "
            f"{argon['pairs_per_s']:.1f}/s"
        )
        self.say()
        self.say(HEADER)
        return argon

    async def run_flows_only(self, procs: Processes, http, sink: Sink) -> None:
        argon = await self.flows_setup(procs)
        flows = [await self.flows_step(http, sink, otp=False, browse=False)]
        self.say()
        self.say("summary")
        self.summary_flows(argon, flows)

    async def warm(self, http) -> None:
        """Every code path once in every worker (imports, template and URL caches, database
        connections) before anything is measured."""

        async def user(i):
            stop = time.perf_counter() + max(3.0, self.args.warmup)
            while time.perf_counter() < stop:
                b = Browser(http)
                for url in (
                    "/bench/bare",
                    "/",
                    "/register/",
                    "/terms/privacy/",
                    "/login/",
                    "/password-reset/",
                ):
                    await b.get(url)
                await agree(b)
                await b.get("/register/identity/")
                await submit_identity(b, address(random.choice(self.identity_pool)))
                await b.get("/register/password/")

        await asyncio.gather(*(user(i) for i in range(self.args.concurrency)))

    async def _at_password(self, b: Browser) -> None:
        await agree(b)
        await submit_identity(b, "nobody@bench.example.jp")  # no mail: same screen

    def summary_pages(self) -> None:
        """Each page's GET against the floor measured just before and just after it, by
        requests/s and by server CPU per request."""
        pages = [r for r in self.results if r.name in self.page_floors]
        by_rate, by_cpu = {}, {}
        for r in pages:
            floor = self.page_floors[r.name]
            by_rate[r.name] = r.rate / floor.rate
            by_cpu[r.name] = floor.cpu_ms(*SERVER) / r.cpu_ms(*SERVER)
            self.say(
                f"  {r.name}: {by_rate[r.name]:.0%} of the floor's requests/s "
                f"({r.rate:.0f} against {floor.rate:.0f}, the floor just before and after it), "
                f"{by_cpu[r.name]:.0%} by server CPU"
            )
        worst = min(by_rate, key=by_rate.get)
        worst_cpu = min(by_cpu, key=by_cpu.get)
        self.say(
            f"  page GETs ÷ floor, requests/s: lowest {by_rate[worst]:.0%} ({worst}); by server "
            f"CPU per request: lowest {by_cpu[worst_cpu]:.0%} ({worst_cpu}); target ≥ 40%"
        )

    def summary_flows(self, argon, flows) -> None:
        cores = argon["cores"]
        self.say(
            f"  hash-only rate before the flows: {argon['pairs_per_s']:.1f} hash+verify pairs/s"
            f" = {cores * 1000 / argon['pairs_per_s']:.1f} ms of machine time ({cores} cores)"
            " per pair; each variant below is compared with the rate measured just before and"
            " just after it"
        )
        for r in flows:
            if not r.rate:
                self.say(f"  {r.name}: no flow completed")
                continue
            hash_rate = statistics.mean(r.hash_rates)
            hash_pair_ms = cores * 1000 / hash_rate
            parts = {p: r.cpu_ms(p) for p in ("web", "worker", "db", "redis", "client")}
            measured = sum(parts.values())
            busy = r.cpu_ms("machine")
            self.say(
                f"  {r.name}: {r.rate:.1f}/s = {r.rate / hash_rate:.0%} of the hash-only rate "
                f"{hash_rate:.1f}/s ({r.hash_rates[0]:.1f} before, {r.hash_rates[1]:.1f} after;"
                " target ≥ 85%)"
            )
            self.say(
                "      CPU per flow: "
                + ", ".join(f"{p} {v:.1f}" for p, v in parts.items())
                + f" = {measured:.1f} ms; hashes {hash_pair_ms:.1f} ms, so the overhead with "
                f"the hashes taken out is {measured - hash_pair_ms:.1f} ms "
                f"({measured - parts['client'] - hash_pair_ms:.1f} ms without the load "
                f"generator); all cores {r.machine_busy:.0%} busy, {busy:.1f} ms per flow, "
                f"{busy - measured:.1f} ms of it outside these processes (kernel, other "
                "processes)"
            )
            if r.ends:
                self.say("      " + timeline(r, bucket=5.0))
            if r.request_cpu:
                self.say(
                    "      web CPU per flow by request (access log; hashes included): "
                    + ", ".join(f"{name} {ms:.1f}" for name, ms in r.request_cpu.items())
                )

    def summary(self, argon, flows, identity_small, identity_large) -> None:
        self.say()
        self.say(
            f"all steps, compared with the floor's two runs together ({self.floor.rate:.1f}"
            f" requests/s, {self.floor.cpu_ms(*SERVER):.2f} ms server CPU per request)"
        )
        self.say(HEADER)
        for r in self.results:
            self.say(row(r, self.floor))
        self.say()
        self.say("summary")
        self.summary_pages()
        for r in self.results:
            if "open loop" in r.name:
                self.say(
                    f"  {r.name} at {r.concurrency}: p99 {r.pct(99):.1f} ms "
                    f"(target < 100 ms), {r.errors} errors"
                )
        if identity_large:
            self.say(
                f"  identity POST p50 {identity_large.pct(50):.1f} ms with {LARGE:,} vs "
                f"{identity_small.pct(50):.1f} ms with {SMALL:,}: "
                f"×{identity_large.pct(50) / identity_small.pct(50):.2f} (p95 "
                f"×{identity_large.pct(95) / identity_small.pct(95):.2f}), target ≤ ×1.2"
            )
        self.summary_flows(argon, flows)
        errors = sum(r.errors for r in self.results)
        self.say(f"  errors: {errors} in all steps (target 0)")
        self.say(f"  load average at the end: {os.getloadavg()[0]:.2f} (the bench's own load)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per step")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--concurrency", type=int, default=8, help="users in closed-loop steps")
    parser.add_argument(
        "--flow-concurrency",
        type=int,
        # Each user spends seconds waiting for its mails: on the 2-core machine 32 users left
        # cores idle (65% of the hash-only rate), 48 and 64 kept them busy (81-82%), and 128
        # queued so many requests and hashes that flows got dearer (75%).
        default=64,
        help="users in whole flows",
    )
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s in open loops")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (default: config/gunicorn.conf.py's 2 × CPUs + 1)",
    )
    parser.add_argument(
        "--pg",
        default="postgres://postgres@127.0.0.1:5432",
        help="PostgreSQL server (the bench creates and drops its own database)",
    )
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database number")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="HTTP client of the load generator (see RawClient)",
    )
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument(
        "--pages-only", action="store_true", help="only the floor and every page's GET"
    )
    parser.add_argument(
        "--flows-only",
        action="store_true",
        help="only the Argon2 figures and whole flows (form POSTs, one-time password off)",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave bench_load for inspection")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--max-seconds", type=float, default=1800, help="hard time bound")
    args = parser.parse_args(argv)
    args.secret_key = secrets.token_urlsafe(64)
    args.argon2 = (
        # config/settings.py's defaults, unless the environment sets them for the servers too
        int(os.environ.get("ARGON2_TIME_COST", 3)),
        int(os.environ.get("ARGON2_MEMORY_COST_KIB", 65536)),
        int(os.environ.get("ARGON2_PARALLELISM", 1)),
    )
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--max-seconds")))
    signal.alarm(int(args.max_seconds))
    asyncio.run(Run(args).main())


if __name__ == "__main__":
    main()
