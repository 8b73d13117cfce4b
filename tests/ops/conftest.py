import sqlite3

import pytest

from tests.ops.procs import manage, production_env


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
