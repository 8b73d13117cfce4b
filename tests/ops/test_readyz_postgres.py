"""/readyz while the database is unreachable, and again when it is back, without a restart.

A TCP proxy owned by this test stands between a gunicorn server and PostgreSQL; cutting the
proxy cuts the database for that server only. The shared PostgreSQL server is never stopped."""

import os
import socket
import threading

import httpx
import pytest
from django.db import connection

from tests.ops.procs import free_port, gunicorn, production_env

pytestmark = pytest.mark.postgres_only


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `upstream`. While cut, it drops every open connection and
    accepts new ones only to close them at once (the database's host is up, its port is not)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.cut_flag = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_flag.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, server))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock)

    def _close(self, sock):
        with self.lock:
            self.sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self):
        self.cut_flag.set()
        with self.lock:
            open_sockets = list(self.sockets)
        for sock in open_sockets:
            self._close(sock)

    def restore(self):
        self.cut_flag.clear()

    def close(self):
        self.closed.set()
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied_database(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (DATABASE_URL=postgres://...): the test cuts a TCP proxy in front "
            "of the database server"
        )
    db = connection.settings_dict
    # Only ever the throwaway database pytest-django made for this process.
    assert db["NAME"].startswith("test_"), db["NAME"]
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    # The test database pytest-django made (its cache table included), through the proxy.
    url = f"postgres://{user}{password}@127.0.0.1:{proxy.port}/{db['NAME']}"
    yield proxy, url
    proxy.close()


def test_readyz_fails_while_the_database_is_cut_and_recovers_without_restart(
    proxied_database, tmp_path
):
    proxy, url = proxied_database
    env = production_env(
        DATABASE_URL=url, SECURE_SSL_REDIRECT="0", CONN_MAX_AGE="600", DATABASE_CONNECT_TIMEOUT="3"
    )
    redis = os.environ.get("REDIS_URL")
    if redis:  # production's layout: the cache in Redis, which stays up
        env["REDIS_URL"] = redis
    with gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log") as base:
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/readyz").status_code == 200  # a persistent connection is open

            proxy.cut()
            for _ in range(2):  # the broken persistent connection, then a refused new one
                down = http.get("/readyz")
                assert down.status_code == 503
                assert down.json()["database"].startswith("error")
                assert down.json()["cache"] == ("ok" if redis else "error: OperationalError")
            assert http.get("/healthz").status_code == 200  # the process itself is fine

            proxy.restore()
            back = http.get("/readyz")
            assert back.status_code == 200, back.text
            assert back.json() == {"status": "ok", "database": "ok", "cache": "ok"}
            assert http.get("/metrics").status_code == 200  # counts read from the database
