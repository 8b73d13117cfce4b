"""gunicorn settings, all from the environment:

    gunicorn -c config/gunicorn.conf.py config.wsgi

    GUNICORN_BIND          address to listen on (default 0.0.0.0:8000; PORT alone also works)
    WEB_CONCURRENCY        worker processes (default: the CPUs this process may run on)
    GUNICORN_THREADS       threads per worker (default 2)
    GUNICORN_TIMEOUT       seconds before a stuck worker is killed and replaced (default 30)
    GUNICORN_MAX_REQUESTS  recycle a worker after this many requests (default 0: never)
    PROMETHEUS_MULTIPROC_DIR  where workers write their metrics (default: a fresh temp dir)

One worker per core runs the Python work of every core. A second thread per worker serves a
request while the other one hashes a password (argon2-cffi releases the GIL while it hashes)
or waits for the database. Every thread may be hashing at once, each with
ARGON2_MEMORY_COST_KIB of memory: at start, when_ready warns if workers × threads × that
memory exceeds half of the host's (docs/production.md, "Sizing").

/metrics sums the workers' metric files; the directory is emptied at start and a dead
worker's files are merged away (child_exit), as prometheus_client's multiprocess mode asks.
"""

import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
workers = int(os.environ.get("WEB_CONCURRENCY", _CPUS))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# The application writes one JSON access line per request (portal.ops.middleware).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's own messages as JSON too, like the application's.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "timestamp": True,
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        # Off unless asked for (--access-logfile): the application logs each request.
        "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
    },
}

# Set before any worker imports prometheus_client, so every worker writes its metrics to files.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mypage-prometheus-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def on_starting(server):
    """Metric files of a previous run would add to this run's counters: start empty."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    server.log.info("starting %d workers x %d threads; metrics in %s", workers, threads, directory)


def when_ready(server):
    """Warns when the hashes every worker thread may run at once could take more than half of
    the host's memory."""
    from django.conf import settings

    workers, threads = server.cfg.workers, server.cfg.threads
    peak = workers * threads * settings.ARGON2_MEMORY_COST_KIB * 1024
    host = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if peak > host / 2:
        server.log.warning(
            "peak password-hashing memory is %d MiB (%d workers x %d threads x "
            "ARGON2_MEMORY_COST_KIB=%d), more than half of this host's %d MiB: lower "
            "WEB_CONCURRENCY or GUNICORN_THREADS",
            peak // 2**20,
            workers,
            threads,
            settings.ARGON2_MEMORY_COST_KIB,
            host // 2**20,
        )


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
