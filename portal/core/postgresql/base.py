"""Django's PostgreSQL backend, with the connection health check asking the socket first, and
a connection that had an error replaced rather than reused.

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
result type") on every connection that prepared them, while `SELECT 1` still succeeds: Django
would keep such a connection and fail each request until CONN_MAX_AGE. So after an error (other
than the integrity and data errors Django leaves alone) the connection is closed at the end of
the request; the next one starts on a fresh connection with nothing prepared.
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import ConnStatus, TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
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
        if self.connection is not None and self.errors_occurred:
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
