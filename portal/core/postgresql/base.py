"""Django's PostgreSQL backend, with the connection health check asking the socket first, and
a connection whose prepared statements a migration made stale replaced rather than reused.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before a reused connection's first query in
each request. That round trip cost a web worker about as much CPU as a page's own query.

A connection that the server side ended (a restart or failover, `pg_terminate_backend`, an idle
timeout, a proxy or pooler going away) has something to read on its socket: the server's FATAL
message, or the end of the stream. So the check first polls the socket, without waiting. A
quiet socket on an idle connection is used as is. Anything to read or a hang-up, or a
connection psycopg already knows is broken or not idle, gets Django's `SELECT 1`, which fails,
and the connection is replaced before the request uses it.

Neither check sees a connection the network dropped silently (no FIN, no RST): `SELECT 1`
would wait for TCP's timeout as well.

With prepared statements (DATABASE_PREPARED_STATEMENTS), a migration that changes a column's
type makes PostgreSQL refuse the statements prepared before it ("cached plan must not change
result type", SQLSTATE 0A000) on every connection that prepared them, while `SELECT 1` still
succeeds: Django would keep such a connection and fail those statements until CONN_MAX_AGE,
inside transactions too (a rollback clears Django's own error flag). So a connection that met
that error is closed at the end of the request; the next one starts with nothing prepared.
"""

import select

from django.db import NotSupportedError
from django.db.backends.postgresql import base
from psycopg.pq import ConnStatus, TransactionStatus

_FEATURE_NOT_SUPPORTED = "0A000"  # what a statement prepared before a column's type changed gets


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prepared_statements_stale = False
        self.execute_wrappers.append(self._note_stale_prepared_statements)

    def _note_stale_prepared_statements(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except NotSupportedError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == _FEATURE_NOT_SUPPORTED:
                self.prepared_statements_stale = True
            raise

    def connect(self):
        super().connect()
        self.prepared_statements_stale = False

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and self._quiet_and_idle()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self):
        if self.connection is not None and self.prepared_statements_stale:
            self.close()
            return
        super().close_if_unusable_or_obsolete()

    def _quiet_and_idle(self) -> bool:
        """Whether the connection is open, idle, and has nothing from the server to read."""
        connection = self.connection
        if connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != ConnStatus.OK or pgconn.transaction_status != TransactionStatus.IDLE:
            return False
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)
            return not poller.poll(0)  # readable, or hung up / in error: not quiet
        except (OSError, ValueError):
            return False
