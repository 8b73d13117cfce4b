"""Load bench: what a person feels, on a real server it starts itself (Locust).

    ./dev bench load                       # all three scenarios, about 6 minutes
    ./dev bench load --scenario flows      # one of them: pages, flows, burst
    ./dev bench load --json results.json   # also save every figure

It empties the PostgreSQL database --database-url (dropped and created again: give it one of
its own) and the Redis database --redis-url, migrates, imports --seekers pending job seekers,
and starts on 127.0.0.1 gunicorn (config/gunicorn.conf.py, production settings: DEBUG=0, a
fresh SECRET_KEY), the mail worker and an SMTP sink that hands each key and one-time password
to the user waiting for it the moment the mail arrives. Then, each scenario bounded in time:

  pages  every GET page's p50/p99 at a fixed total rate (--rate requests/s), with
         registrations running alongside at --registrations per second; their POSTs (the ③
         key + password hashes) are reported apart.
  flows  whole registrations (terms → identity → key mail → key + password → 完了) at a fixed
         concurrency for --flow-seconds. The key goes in as soon as its mail arrives, nothing is
         retried, and every failed flow is counted by step and by the message the page showed.
         Server CPU per completed registration: user+sys time (/proc) of gunicorn, the mail
         worker, every postgres and redis-server process over the measured window, divided by
         the registrations completed in it; the hash's share is one make_password timed in a
         process of its own with the same settings (a registration hashes once: at ③).
  burst  GET p99 of the pages at the same fixed rate, first alone, then while --logins users
         log in (ID + password, then the one-time password) as fast as they can: how the
         workers share the cores with the hashes.

It prints figures and asserts nothing about time. Every request goes to 127.0.0.1.
"""

import argparse
import json
import secrets
import socket
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import gevent
from locust import constant, constant_throughput  # its import makes the stdlib cooperative
from locust.env import Environment
from parts import system
from parts.users import LoginUser, PageReader, Registrant, shared

SCENARIOS = ("pages", "flows", "burst")


# --- running users ----------------------------------------------------------------------------


class Recorder:
    """Every request Locust made: when it ended, its name, milliseconds, whether it failed."""

    def __init__(self, env: Environment) -> None:
        self.samples: list[tuple[float, str, float, bool]] = []
        env.events.request.add_listener(self.on_request)

    def on_request(self, name, response_time, exception, **_kwargs) -> None:
        self.samples.append((time.monotonic(), name, response_time, exception is not None))

    def table(self, start: float, end: float, prefix: str) -> dict:
        """name → figures, for the requests named `prefix…` that ended in [start, end]."""
        by_name: dict[str, list] = {}
        for ended, name, ms, failed in self.samples:
            if start <= ended <= end and name.startswith(prefix):
                by_name.setdefault(name.removeprefix(prefix), []).append((ms, failed))
        return {name: figures(rows, end - start) for name, rows in by_name.items()}


def figures(rows: list[tuple[float, bool]], seconds: float) -> dict:
    times = sorted(ms for ms, _failed in rows)
    return {
        "count": len(rows),
        "per_s": len(rows) / seconds,
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "max_ms": times[-1] if times else float("nan"),
        "errors": sum(failed for _ms, failed in rows),
    }


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def start_users(base_url: str, counts: dict) -> tuple[Environment, Recorder]:
    """Starts `counts` (user class → how many) at once; shared state begins afresh."""
    shared.flows.clear()
    shared.setup_failures.clear()
    shared.ready = 0
    shared.flows_until = float("inf")
    shared.burst = (float("inf"), float("inf"))
    for user_class, count in counts.items():
        user_class.fixed_count = count
    env = Environment(user_classes=list(counts), host=base_url)
    recorder = Recorder(env)
    total = sum(counts.values())
    env.create_local_runner().start(total, spawn_rate=total)
    wait_until(lambda: shared.ready == total, 180, f"{total} users to get ready")
    return env, recorder


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if shared.setup_failures:
            raise SystemExit(f"a user's setup failed: {shared.setup_failures[0]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {timeout:.0f} s")
        gevent.sleep(0.1)


def stop_users(env: Environment) -> None:
    """Lets running flows end (bounded), then stops every user."""
    deadline = time.monotonic() + 120
    while shared.active and time.monotonic() < deadline:
        gevent.sleep(0.1)
    env.runner.quit()


def flow_figures(kind: str, start: float, end: float) -> dict:
    """Flows of `kind` run in this scenario: all of them counted for failures; those completed
    within [start, end] for the rate and the durations."""
    flows = [f for f in shared.flows if f.kind == kind]
    done = [f for f in flows if not f.step and start <= f.ended <= end]
    failed = [f for f in flows if f.step]
    durations = sorted((f.ended - f.started) * 1000 for f in done)
    return {
        "started": len(flows),
        "completed_in_window": len(done),
        "failed_in_window": sum(1 for f in failed if start <= f.ended <= end),
        "per_s": len(done) / (end - start),
        "p50_ms": percentile(durations, 50),
        "p99_ms": percentile(durations, 99),
        "failed": len(failed),
        "failures": [
            {"step": step, "message": why, "count": n}
            for (step, why), n in Counter((f.step, f.why) for f in failed).most_common()
        ],
    }


# --- the scenarios ----------------------------------------------------------------------------


def scenario_pages(args, base_url: str, meter) -> dict:
    registrants = 4
    PageReader.wait_time = constant_throughput(args.rate / args.readers)
    Registrant.wait_time = constant_throughput(args.registrations / registrants)
    env, recorder = start_users(base_url, {PageReader: args.readers, Registrant: registrants})
    gevent.sleep(args.warmup)
    start = time.monotonic()
    gevent.sleep(args.pages_seconds)
    end = time.monotonic()
    shared.flows_until = end
    stop_users(env)
    result = {
        "seconds": end - start,
        "gets": recorder.table(start, end, "page "),
        "posts": recorder.table(start, end, "flow POST "),
        "registrations": flow_figures("registration", start, end),
    }
    say(f"\n== pages: GETs at {args.rate:g}/s with registrations at {args.registrations:g}/s")
    print_requests("GET page", result["gets"])
    say("\nPOSTs of the registrations alongside (the ③ POST hashes the password):")
    print_requests("POST", result["posts"])
    print_flows("registrations alongside", result["registrations"])
    return result


def scenario_flows(args, base_url: str, meter, server_env: dict) -> dict:
    hashes = system.hash_times(server_env)
    hash_cpu_ms = statistics.median(hashes["cpu"]) * 1000
    Registrant.wait_time = constant(0)
    env, _recorder = start_users(base_url, {Registrant: args.flow_concurrency})
    gevent.sleep(args.warmup)
    before, start = meter.snapshot(), time.monotonic()
    gevent.sleep(args.flow_seconds)
    after, end = meter.snapshot(), time.monotonic()
    shared.flows_until = end
    stop_users(env)
    flows = flow_figures("registration", start, end)
    spent = meter.spent(before, after)
    completed = flows["completed_in_window"]
    per_flow = {part: seconds * 1000 / completed if completed else float("nan")
                for part, seconds in spent.items() if part != "wall"}  # fmt: skip
    server_ms = sum(per_flow[part] for part in system.SERVER_PARTS)
    result = {
        "seconds": end - start,
        "concurrency": args.flow_concurrency,
        "registrations": flows,
        "cpu_ms_per_registration": per_flow,
        "cpu_ms_per_registration_server": server_ms,
        "hash_cpu_ms_each": [s * 1000 for s in hashes["cpu"]],
        "hash_wall_ms_each": [s * 1000 for s in hashes["wall"]],
        "hashes_per_registration": 1,
        "hash_cpu_ms_per_registration": hash_cpu_ms,
        "cpu_ms_per_registration_besides_hash": server_ms - hash_cpu_ms,
    }
    say(f"\n== flows: whole registrations at concurrency {args.flow_concurrency}")
    print_flows("registrations", flows)
    say("\nCPU per completed registration (ms, user+sys from /proc over the measured window)")
    for part in (*system.SERVER_PARTS, "bench client", "machine"):
        say(f"  {part:<36} {per_flow[part]:8.1f}")
    say(f"  {'server CPU per registration':<36} {server_ms:8.1f}")
    say(
        f"  {'of which hash':<36} {hash_cpu_ms:8.1f}   (1 make_password per registration; "
        f"median of {len(hashes['cpu'])}, wall {statistics.median(hashes['wall']) * 1000:.1f})"
    )
    say(f"  {'besides the hash':<36} {server_ms - hash_cpu_ms:8.1f}")
    ended = completed + flows["failed_in_window"]
    if flows["failed_in_window"]:
        # Failed flows cost the server too, and they are in the window's CPU: spread it over
        # every flow that ended in the window, counting one hash per completed flow only.
        besides_per_ended = (server_ms - hash_cpu_ms) * completed / ended
        result["cpu_ms_per_flow_ended_besides_hash"] = besides_per_ended
        say(
            f"  {'besides the hash, per flow ended':<36} {besides_per_ended:8.1f}   "
            f"({ended} flows ended in the window, {flows['failed_in_window']} of them failed)"
        )
    busy = spent["machine"] / (spent["wall"] * system.CPUS)
    say(f"  (the machine was {busy:.0%} busy; 'machine' counts every process on it)")
    return result


def scenario_burst(args, base_url: str, meter) -> dict:
    PageReader.wait_time = constant_throughput(args.rate / args.readers)
    LoginUser.wait_time = constant(0)
    env, recorder = start_users(base_url, {PageReader: args.readers, LoginUser: args.logins})
    gevent.sleep(args.warmup)
    alone = time.monotonic()
    gevent.sleep(args.burst_seconds)
    start = time.monotonic()
    shared.burst = (start, start + args.burst_seconds)
    gevent.sleep(args.burst_seconds)
    end = time.monotonic()
    stop_users(env)
    result = {
        "logins": args.logins,
        "gets_alone": recorder.table(alone, start, "page "),
        "gets_during_burst": recorder.table(start, end, "page "),
        "all_gets_alone": all_of(recorder, alone, start, "page "),
        "all_gets_during_burst": all_of(recorder, start, end, "page "),
        "login_posts": recorder.table(start, end, "burst POST "),
        "login_flows": flow_figures("login", start, end),
    }
    say(f"\n== burst: GETs at {args.rate:g}/s, alone then with {args.logins} users logging in")
    say(f"{'':<28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>7} {'errors':>6}")
    for label in ("alone", "during_burst"):
        f = result[f"all_gets_{label}"]
        name = "all GETs, " + label.replace("_", " ")
        say(
            f"{name:<28} {f['p50_ms']:8.1f} {f['p99_ms']:8.1f} {f['max_ms']:8.1f} "
            f"{f['per_s']:7.1f} {f['errors']:6d}"
        )
    say("\nEach GET page during the burst:")
    print_requests("GET page", result["gets_during_burst"])
    say("\nThe logins' POSTs during the burst (login hashes the password):")
    print_requests("POST", result["login_posts"])
    print_flows("logins", result["login_flows"])
    return result


def all_of(recorder: Recorder, start: float, end: float, prefix: str) -> dict:
    rows = [
        (ms, failed)
        for ended, name, ms, failed in recorder.samples
        if start <= ended <= end and name.startswith(prefix)
    ]
    return figures(rows, end - start)


# --- printing ---------------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def print_requests(title: str, table: dict) -> None:
    say(f"{title:<34} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} err")
    for name, f in table.items():
        say(
            f"{name:<34} {f['count']:6d} {f['per_s']:7.1f} {f['p50_ms']:8.1f} {f['p99_ms']:8.1f} "
            f"{f['max_ms']:8.1f} {f['errors']:4d}"
        )


def print_flows(title: str, f: dict) -> None:
    say(
        f"{title}: {f['started']} started, {f['completed_in_window']} completed in the window "
        f"({f['per_s']:.2f}/s, p50 {f['p50_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms), "
        f"FAILED: {f['failed']}"
    )
    for failure in f["failures"]:
        say(f"  {failure['count']:5d} × at {failure['step']}: {failure['message']}")


# --- main -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0], epilog="See bench/README.md."
    )
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/bench_load",
        help="a PostgreSQL database the bench drops and creates again (default: %(default)s)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/15",
        help="a Redis database the bench empties (default: %(default)s)",
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: its config's)")
    parser.add_argument("--seekers", type=int, default=3000, help="pending job seekers to load")
    parser.add_argument("--warmup", type=float, default=10, help="seconds before each window")
    parser.add_argument("--rate", type=float, default=100, help="pages: GETs per second")
    parser.add_argument("--readers", type=int, default=10, help="pages: users sharing --rate")
    parser.add_argument("--registrations", type=float, default=1, help="pages: flows per second")
    parser.add_argument("--pages-seconds", type=float, default=120)
    parser.add_argument("--flow-concurrency", type=int, default=8)
    parser.add_argument("--flow-seconds", type=float, default=60)
    parser.add_argument("--logins", type=int, default=16, help="burst: concurrent logins")
    parser.add_argument("--burst-seconds", type=float, default=20)
    parser.add_argument("--logs", type=Path, help="directory for the servers' logs (default: temp)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    args.secret_key = secrets.token_urlsafe(64)
    logdir = args.logs or Path(tempfile.mkdtemp(prefix="bench-load-"))
    logdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = system.server_env(args, smtp_port=free_port(), port=port, logdir=logdir)
    system.stores_empty(args)
    system.manage(env, "migrate", "-v0")
    system.manage(env, "collectstatic", "--noinput", "-v0")
    system.jobseekers_add(env, args.seekers, logdir)
    shared.seekers_total = args.seekers
    servers = system.Servers(env, logdir, base_url, on_code=shared.mailbox.deliver)
    results: dict = {"args": {k: str(v) for k, v in vars(args).items() if k != "secret_key"}}
    try:
        servers.start()
        meter = system.CpuMeter(servers)
        results["gunicorn_workers"] = len(system.tree(servers.processes["gunicorn"].pid)) - 1
        results["cpus"] = system.CPUS
        say(f"gunicorn on {base_url}: {results['gunicorn_workers']} workers; {system.CPUS} CPUs")
        say(f"logs in {logdir}")
        if "pages" in args.scenario:
            results["pages"] = scenario_pages(args, base_url, meter)
        if "flows" in args.scenario:
            results["flows"] = scenario_flows(args, base_url, meter, env)
        if "burst" in args.scenario:
            results["burst"] = scenario_burst(args, base_url, meter)
    finally:
        servers.stop()
    used = min(next(shared.seekers), args.seekers)
    results["jobseekers_used"] = used
    say(f"\njob seekers used: {used} of {args.seekers}")
    if used >= args.seekers:
        say("  ALL USED UP: some users stopped early; raise --seekers")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
        say(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
