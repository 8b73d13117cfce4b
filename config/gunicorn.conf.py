"""gunicorn settings, all from the environment:

    gunicorn -c config/gunicorn.conf.py config.wsgi

    GUNICORN_BIND          address to listen on (default 0.0.0.0:8000; PORT alone also works)
    WEB_CONCURRENCY        worker processes (default 2 × CPUs + 1)
    GUNICORN_THREADS       threads per worker (default 1: Argon2 and the ORM are CPU-bound)
    GUNICORN_TIMEOUT       seconds before a stuck worker is killed and replaced (default 30)
    GUNICORN_MAX_REQUESTS  recycle a worker after this many requests (default 0: never)
    PROMETHEUS_MULTIPROC_DIR  where workers write their metrics (default: a fresh temp dir)

/metrics sums the workers' metric files; the directory is emptied at start and a dead
worker's files are merged away (child_exit), as prometheus_client's multiprocess mode asks.
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
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


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
