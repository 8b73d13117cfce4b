import sqlite3

import pytest
from django.db import connection

from tests.ops.procs import manage, production_env
from tests.ops.test_readyz_postgres import TcpProxy


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """A SQLite file with every migration applied, made once; copy it per test."""
    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    manage("migrate", "--noinput", env=production_env(DATABASE_URL=f"sqlite:///{path}"))
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, to copy it
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    return path


@pytest.fixture
def database_behind_proxy(transactional_db):
    """PostgreSQL behind a TCP proxy owned by the test: yields the proxy and a database URL
    through it, to the test database pytest-django made."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): the test cuts a TCP proxy")
    db = connection.settings_dict
    assert db["NAME"].startswith("test_"), db["NAME"]  # only pytest-django's own database
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    yield (
        proxy,
        f"postgres://{db['USER'] or 'postgres'}{password}@127.0.0.1:{proxy.port}/{db['NAME']}",
    )
    proxy.close()
