"""The system under test, started and stopped by bench/load.py: a PostgreSQL database and a
Redis database emptied for the run, the job seekers, gunicorn (config/gunicorn.conf.py), the
mail worker (manage.py deliver_mail), the SMTP sink (bench/parts/sink.py); and what the
servers cost: CPU time read from /proc, and one Argon2 hash timed in a process of its own.
"""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from parts.users import BIRTH, PASSWORD, address

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
CPUS = os.cpu_count() or 1
SERVER_PARTS = ("gunicorn", "mail worker", "postgres", "redis")  # the server side's CPU


def server_env(args, *, smtp_port: int, port: int, logdir: Path) -> dict:
    """Production settings from the environment (config/settings.py), with what plain HTTP on
    loopback needs: TLS ends at a proxy in production, so the HTTPS redirect and the Secure
    cookies are off. Every request comes from 127.0.0.1, so each per-IP limit is raised, and so
    is the one-time password mails per account and hour (the burst logs in again and again)."""
    settings_text = (ROOT / "config" / "settings.py").read_text()
    per_ip = set(re.findall(r'env\.int\(\s*"([A-Z0-9_]*PER_IP[A-Z0-9_]*)"', settings_text))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))}
    env.update(
        {name: "1000000000" for name in per_ip},
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=args.secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        LOGIN_OTP_MAILS_PER_HOUR="1000000",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        STATIC_ROOT=str(logdir / "static"),
        # As in docs/production.md's process definitions: glibc reads it at process start.
        GLIBC_TUNABLES="glibc.malloc.hugetlb=1",
    )
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    return env


def stores_empty(args) -> None:
    """Drops and re-creates the bench's PostgreSQL database, and empties its Redis database."""
    url = urlsplit(args.database_url)
    name = url.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"database name {name!r}: use lower-case letters, digits and _")
    maintenance = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    redis.Redis.from_url(args.redis_url).flushdb()


def manage(env: dict, *argv: str) -> None:
    subprocess.run([PYTHON, "manage.py", *argv], cwd=ROOT, env=env, check=True)


def jobseekers_add(env: dict, count: int, logdir: Path) -> None:
    """`count` pending job seekers (address(0) … address(count - 1)), by the CSV import."""
    path = logdir / "jobseekers.csv"
    birth = f"{BIRTH['birth_year']}-{int(BIRTH['birth_month']):02d}-{int(BIRTH['birth_day']):02d}"
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["job_seeker_number", "name", "name_kana", "email", "birth_date"])
        for n in range(count):
            writer.writerow([f"13010-{n:08d}", "求職太郎", "キュウショクタロウ", address(n), birth])
    manage(env, "import_jobseekers", str(path))


HASH_TIMER = """
import json, sys, time, django
django.setup()
from django.contrib.auth.hashers import make_password
times, password = int(sys.argv[1]), sys.argv[2]
make_password(password)  # the first call loads the hasher
cpu, wall = [], []
for _ in range(times):
    c, w = time.process_time(), time.perf_counter()
    make_password(password)
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - w)
print(json.dumps({"cpu": cpu, "wall": wall}))
"""


def hash_times(env: dict, times: int = 9) -> dict:
    """Seconds of CPU and of wall time of each of `times` make_password calls, in a process of
    its own with the servers' settings (the hasher and its parameters come from them)."""
    out = subprocess.run(
        [PYTHON, "-c", HASH_TIMER, str(times), PASSWORD],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class Servers:
    """The SMTP sink, gunicorn and the mail worker; logs go to `logdir`."""

    def __init__(self, env: dict, logdir: Path, base_url: str, on_code) -> None:
        self.env, self.logdir, self.base_url, self.on_code = env, logdir, base_url, on_code
        self.processes: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, argv: list, **kwargs) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "w")
        kwargs.setdefault("stdout", log)
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stderr=log, **kwargs)
        self.processes[name] = process
        return process

    def start(self) -> None:
        import gevent

        sink = self._start(
            "sink",
            [PYTHON, "bench/parts/sink.py", "--port", self.env["EMAIL_PORT"]],
            stdout=subprocess.PIPE,
            text=True,
        )
        if sink.stdout.readline().strip() != "ready":
            raise SystemExit(f"the SMTP sink did not start; see {self.logdir}/sink.log")
        gevent.spawn(self._read_codes, sink)
        self._start("gunicorn", [GUNICORN, "-c", "config/gunicorn.conf.py", "config.wsgi"])
        self._start("deliver_mail", [PYTHON, "manage.py", "deliver_mail"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.processes["gunicorn"].poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.logdir}/gunicorn.log")
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn was not ready within 60 s; see {self.logdir}/gunicorn.log")

    def _read_codes(self, sink: subprocess.Popen) -> None:
        for line in sink.stdout:
            to, code = line.split()
            self.on_code(to, code)

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- CPU time from /proc -------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def process_cpu(pid: int) -> float:
    """user + sys seconds of a process, and of its children that ended (waited for): a
    PostgreSQL backend or gunicorn worker that exits during the window still counts."""
    fields = _stat(pid)
    return sum(int(v) for v in fields[11:15]) / TICK if fields else 0.0


def tree(pid: int) -> list[int]:
    """`pid` and all its living descendants."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return found


def pgrep(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def machine_busy() -> float:
    """CPU seconds the whole machine spent, all cores (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields)
    return (user + nice + system + irq + softirq + steal) / TICK


class CpuMeter:
    """CPU seconds per part of the server side: gunicorn (master and workers), the mail
    worker, every `postgres` process and every `redis-server` process on this machine; and,
    to judge the sitting, the bench itself (this process and the sink) and the whole machine."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers

    def snapshot(self) -> dict:
        own = os.times()
        processes = self.servers.processes
        return {
            "gunicorn": sum(process_cpu(p) for p in tree(processes["gunicorn"].pid)),
            "mail worker": process_cpu(processes["deliver_mail"].pid),
            "postgres": sum(process_cpu(p) for p in pgrep("postgres")),
            "redis": sum(process_cpu(p) for p in pgrep("redis-server")),
            "bench client": own.user + own.system + process_cpu(processes["sink"].pid),
            "machine": machine_busy(),
            "wall": time.monotonic(),
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict:
        return {part: after[part] - before[part] for part in before}
