"""The connection health check (portal.core.postgresql): a connection the server ended is
replaced before a request uses it; a healthy idle one is used without a `SELECT 1`."""

import select
import time
from unittest import mock

import psycopg
import pytest
from django.db import connection, transaction
from django.db.backends.postgresql import base as django_postgresql

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def persistent_connection(transactional_db):
    """Django's connection outside any transaction, as between two requests."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    assert connection.health_check_enabled or connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.ensure_connection()
    assert not connection.in_atomic_block
    return connection


def _start_request(conn) -> None:
    """What Django does when a request begins (django.db.close_old_connections)."""
    conn.close_if_unusable_or_obsolete()
    assert conn.health_check_done is False


def _server_pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _admin(conn):
    settings = conn.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def _spy_on_select_1():
    return mock.patch.object(
        django_postgresql.DatabaseWrapper,
        "is_usable",  # Django's check: SELECT 1
        autospec=True,
        side_effect=django_postgresql.DatabaseWrapper.is_usable,
    )


def test_a_healthy_idle_connection_is_used_without_a_round_trip(persistent_connection):
    conn = persistent_connection
    pid = _server_pid(conn)
    _start_request(conn)
    with _spy_on_select_1() as django_check:
        assert _server_pid(conn) == pid  # the same connection, checked
    assert conn.health_check_done is True
    assert django_check.call_count == 0


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(
    persistent_connection,
):
    conn = persistent_connection
    pid = _server_pid(conn)
    with _admin(conn) as admin:
        # Only this test's own backend: the shared server keeps running.
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    socket = conn.connection.pgconn.socket
    deadline = time.monotonic() + 10
    while not select.select([socket], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the server did not end the connection"

    _start_request(conn)
    with _spy_on_select_1() as django_check:
        new_pid = _server_pid(conn)  # no error: the check replaced the connection first
    assert new_pid != pid
    assert django_check.call_count == 1


def test_a_connection_in_a_transaction_gets_djangos_check(persistent_connection):
    conn = persistent_connection
    _server_pid(conn)
    conn.connection.execute("BEGIN")  # left open, as by code that never committed
    try:
        conn.health_check_done = False
        with _spy_on_select_1() as django_check:
            conn.close_if_health_check_failed()
        assert django_check.call_count == 1
    finally:
        if conn.connection is not None:
            conn.connection.execute("ROLLBACK")


def test_a_column_type_changed_by_a_migration_costs_one_request_not_a_minute(
    persistent_connection,
):
    """Statements prepared before a column's type changed fail; the connection that failed is
    replaced at the end of that request instead of failing every request until CONN_MAX_AGE."""
    from django.db import NotSupportedError

    conn = persistent_connection
    if not conn.settings_dict["OPTIONS"].get("prepare_threshold"):
        pytest.skip("prepared statements are off (DATABASE_PREPARED_STATEMENTS=0)")
    with _admin(conn) as admin:
        admin.execute("CREATE TABLE prepared_probe (code varchar(10))")
        admin.execute("INSERT INTO prepared_probe VALUES ('a')")
        try:

            def read():
                with conn.cursor() as cursor:
                    cursor.execute("SELECT code FROM prepared_probe WHERE code = %s", ["a"])
                    return cursor.fetchone()[0]

            for _ in range(8):  # prepared by psycopg after 5 runs
                assert read() == "a"
            admin.execute("ALTER TABLE prepared_probe ALTER COLUMN code TYPE varchar(16)")
            with pytest.raises(NotSupportedError, match="cached plan"):
                with transaction.atomic():  # its rollback clears Django's own error flag
                    read()  # the request that meets the change fails …
            conn.close_if_unusable_or_obsolete()  # … and at its end (request_finished)
            assert conn.connection is None
            assert read() == "a"  # the next request is served on a fresh connection
        finally:
            conn.close()
            admin.execute("DROP TABLE prepared_probe")
