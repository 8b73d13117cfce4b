"""config/gunicorn.conf.py: workers sized to the CPUs, and a warning at start when the hashes
every worker thread may run at once (workers × threads × ARGON2_MEMORY_COST_KIB) could take
more than half of the host's memory."""

import logging
import os
import runpy
from types import SimpleNamespace

import pytest

from tests.ops.procs import ROOT

MIB = 2**20
PAGE = 4096


@pytest.fixture
def conf(monkeypatch, tmp_path):
    """The configuration file's names, as gunicorn reads them, without WEB_CONCURRENCY and
    GUNICORN_THREADS from the environment."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    return runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))


@pytest.fixture
def host_memory(monkeypatch):
    """Sets the host's physical memory os.sysconf reports, in MiB."""
    real = os.sysconf

    def set_memory(mib: int):
        values = {"SC_PHYS_PAGES": mib * MIB // PAGE, "SC_PAGE_SIZE": PAGE}
        monkeypatch.setattr(os, "sysconf", lambda name: values.get(name) or real(name))

    return set_memory


def _start(conf, workers: int, threads: int) -> None:
    server = SimpleNamespace(
        cfg=SimpleNamespace(workers=workers, threads=threads),
        log=logging.getLogger("tests.gunicorn"),
    )
    conf["when_ready"](server)


def test_workers_default_to_the_cpus_with_two_threads_each(conf):
    assert conf["workers"] == len(os.sched_getaffinity(0))
    assert conf["threads"] == 2


def test_hashing_memory_above_half_the_host_is_warned_about(conf, host_memory, settings, caplog):
    settings.ARGON2_MEMORY_COST_KIB = 65536
    host_memory(1024)
    with caplog.at_level(logging.WARNING, logger="tests.gunicorn"):
        _start(conf, workers=4, threads=3)  # 12 × 64 MiB = 768 MiB > 512 MiB
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "768 MiB" in message and "4 workers x 3 threads" in message
    assert "1024 MiB" in message


@pytest.mark.parametrize(("workers", "threads"), [(4, 2), (2, 2), (1, 1)])
def test_hashing_memory_up_to_half_the_host_is_not_warned_about(
    conf, host_memory, settings, caplog, workers, threads
):
    settings.ARGON2_MEMORY_COST_KIB = 65536
    host_memory(1024)  # 4 × 2 × 64 MiB = 512 MiB: exactly half
    with caplog.at_level(logging.WARNING, logger="tests.gunicorn"):
        _start(conf, workers=workers, threads=threads)
    assert caplog.records == []


def test_the_warning_follows_the_memory_cost(conf, host_memory, settings, caplog):
    host_memory(1024)
    settings.ARGON2_MEMORY_COST_KIB = 32768
    with caplog.at_level(logging.WARNING, logger="tests.gunicorn"):
        _start(conf, workers=4, threads=4)  # 16 × 32 MiB = 512 MiB
        assert caplog.records == []
        settings.ARGON2_MEMORY_COST_KIB = 32769
        _start(conf, workers=4, threads=4)
    assert len(caplog.records) == 1
