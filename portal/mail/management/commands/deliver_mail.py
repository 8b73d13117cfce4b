import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import connections

from portal.jobseekers.uploads import jobseeker_upload_run_next
from portal.mail.services import DATABASE_UNREACHABLE, mail_deliver_due
from portal.mail.worker import DeliveryWorker

logger = logging.getLogger(__name__)

# Waits between tries while the database cannot be reached: 1 s, doubling, at most 30 s.
RETRY_FIRST_SECONDS = 1
RETRY_MAX_SECONDS = 30
# How often the import thread looks for an uploaded CSV file.
IMPORT_POLL_SECONDS = 1.0


def database_retry_delays():
    delay = RETRY_FIRST_SECONDS
    while True:
        yield delay
        delay = min(delay * 2, RETRY_MAX_SECONDS)


def _log_batch(report) -> None:
    logger.info(
        "mail batch",
        extra={"sent": report.sent, "retried": report.retried, "failed": report.failed},
    )


class Command(BaseCommand):
    help = (
        "Delivers queued mails over SMTP and imports CSV files uploaded in the staff admin. "
        "Runs until SIGTERM/SIGINT, or drains once with --once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="drain the due mails and exit")
        parser.add_argument("--batch-size", type=int, default=50)
        parser.add_argument("--idle-sleep", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, once=False, batch_size=50, idle_sleep=1.0, **options):
        self.stopping = False
        if once:
            self._drain(batch_size)
            return
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        # Imports run in a thread of their own so that a long file never holds up the mails.
        imports = threading.Thread(
            target=self._import_forever, args=(idle_sleep,), daemon=True, name="csv-import"
        )
        imports.start()
        worker = DeliveryWorker(batch_size=batch_size)
        delays = database_retry_delays()
        total = 0
        try:
            while not self.stopping:
                try:
                    report = worker.deliver_due(should_stop=lambda: self.stopping)
                except DATABASE_UNREACHABLE as exc:
                    # Logged and waited out; any other error ends the process with its traceback
                    # (its leases are then taken over once its heartbeat is missed).
                    delay = next(delays)
                    logger.error(
                        "mail worker cannot reach the database; trying again",
                        extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_seconds": delay},
                    )
                    self._sleep(delay)
                    continue
                delays = database_retry_delays()
                total += report.sent
                if report.handled:
                    _log_batch(report)
                    continue
                self._sleep(idle_sleep)
        finally:
            # An import still running is left to finish or die with the process: its heartbeat
            # stops and another worker takes the file over.
            self.stopping = True
            imports.join(timeout=5)
        worker.stop()
        logger.info("mail worker stopped", extra={"sent_total": total})

    def _drain(self, batch_size: int) -> None:
        """--once: delivers the due mails and returns. It holds plain leases (no heartbeat),
        and any error, a database error included, ends it."""
        total = 0
        while (report := mail_deliver_due(batch_size=batch_size)).handled:
            total += report.sent
            _log_batch(report)
        self.stdout.write(f"sent {total}")
        imported = 0
        while jobseeker_upload_run_next():
            imported += 1
        if imported:
            self.stdout.write(f"imported {imported}")

    def _import_forever(self, idle_sleep: float) -> None:
        """Imports uploaded CSV files one at a time until the worker stops, looking for one
        after each wait. A run cut short by the stop is claimed again by a worker once its
        heartbeat is stale."""
        wait = max(idle_sleep, IMPORT_POLL_SECONDS)
        try:
            while self._import_wait(wait):
                try:
                    while not self.stopping and jobseeker_upload_run_next():
                        pass
                    wait = max(idle_sleep, IMPORT_POLL_SECONDS)
                except DATABASE_UNREACHABLE as exc:
                    logger.error(
                        "csv import cannot reach the database; trying again",
                        extra={"error": f"{type(exc).__name__}: {exc}"},
                    )
                    connections.close_all()
                    wait = RETRY_MAX_SECONDS
                except Exception:
                    # One bad run must not stop the mails; it is logged with its traceback.
                    logger.exception("csv import failed")
        finally:
            connections.close_all()

    def _import_wait(self, seconds: float) -> bool:
        """Waits (its own clock, apart from the delivery loop's), False once stopping."""
        until = time.monotonic() + seconds
        while not self.stopping and (left := until - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))
        return not self.stopping

    def _sleep(self, seconds: float) -> None:
        """Sleeps, waking early on SIGTERM/SIGINT."""
        until = time.monotonic() + seconds
        while not self.stopping and (left := until - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))

    def _stop(self, signum, frame):
        self.stopping = True
