"""Persistent PostgreSQL connections with Django's health check (CONN_MAX_AGE,
CONN_HEALTH_CHECKS): a healthy connection is kept from one request to the next, and a
connection the server ended is replaced before a request uses it."""

import select
import time
from unittest import mock

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def persistent_connection(transactional_db):
    """Django's connection outside any transaction, as between two requests."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
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


def test_a_healthy_connection_is_kept_for_the_next_request(persistent_connection):
    conn = persistent_connection
    pid = _server_pid(conn)
    _start_request(conn)
    with _spy_on_select_1() as django_check:
        assert _server_pid(conn) == pid  # the same connection, checked once
    assert conn.health_check_done is True
    assert django_check.call_count == 1


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
