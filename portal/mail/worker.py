"""The mail worker process: one running `manage.py deliver_mail` (docs/architecture.md,
"Outbox")."""

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import connections, transaction
from django.db.models.functions import Now

from portal.mail.models import MailWorker, OutboundMail
from portal.mail.services import (
    DATABASE_UNREACHABLE,
    DeliveryReport,
    dead_workers,
    give_back,
    mail_deliver_due,
)

logger = logging.getLogger(__name__)


class DeliveryWorker:
    """One running `manage.py deliver_mail`: its MailWorker row, the heartbeat thread that
    keeps its leases alive, and an SMTP answer the database has not taken yet.

    When the database cannot be reached, `deliver_due` closes the broken connection and
    raises (OperationalError or InterfaceError); the caller waits and calls it again. That
    call first writes the answer that was not recorded (a mail SMTP accepted is marked sent,
    with `handed_over_at`, and is not sent again), then puts every other mail the worker still
    holds back in the queue: those were never handed to SMTP."""

    def __init__(self, *, batch_size: int = 50, heartbeat_thread: bool = True) -> None:
        self.batch_size = batch_size
        self.row: MailWorker | None = None
        self.unrecorded = None  # records an SMTP answer the database did not take yet
        self._heartbeat_thread = heartbeat_thread
        self._lost_database = False
        self._beaten_at: float | None = None  # time.monotonic() before the last heartbeat
        self._lock = threading.RLock()  # one heartbeat write at a time; none after leaving
        self._left = False
        self._stopping = threading.Event()

    def deliver_due(self, *, should_stop=lambda: False) -> DeliveryReport:
        """Registers the worker the first time, recovers after a lost database, then
        delivers one batch (`mail_deliver_due`) under this worker's heartbeat."""
        try:
            if self.row is None:
                self._register()
            if self._lost_database:
                self._recover()
            return mail_deliver_due(
                batch_size=self.batch_size, should_stop=should_stop, worker=self
            )
        except DATABASE_UNREACHABLE:
            self._lost_database = True
            connections.close_all()  # the next query opens a new connection
            raise

    def record(self, answer) -> None:
        """Writes an SMTP answer (`answer()` records it), keeping it until it is written."""
        self.unrecorded = answer
        answer()
        self.unrecorded = None

    def beat(self) -> None:
        """Renews the heartbeat. A worker that other workers took for dead and removed while
        it could not reach the database is registered again under the same id."""
        with self._lock:
            if self._left:
                return
            started = time.monotonic()
            if not MailWorker.objects.filter(pk=self.row.pk).update(heartbeat_at=Now()):
                MailWorker.objects.create(
                    pk=self.row.pk,
                    hostname=self.row.hostname,
                    pid=self.row.pid,
                    started_at=self.row.started_at,
                    heartbeat_at=Now(),
                )
            self._beaten_at = started

    def beating(self) -> bool:
        """Whether the last heartbeat is recent enough that no other worker can take this
        one for dead (it is, after three missed heartbeats) before a mail goes out."""
        if self._beaten_at is None:
            return False
        silence = time.monotonic() - self._beaten_at
        return silence < 2 * settings.MAIL_WORKER_HEARTBEAT_SECONDS

    def stop(self) -> None:
        """Leaves after a clean stop: writes what is left to write, gives back what the worker
        holds, and removes its row. Without the database, its mails are taken over by other
        workers once its heartbeat is missed."""
        self._stopping.set()
        if self.row is None:
            return
        with self._lock:
            try:
                self._settle()
                MailWorker.objects.filter(pk=self.row.pk).delete()
            except DATABASE_UNREACHABLE as exc:
                logger.warning(
                    "mail worker stopped without reaching the database",
                    extra={"worker": self.row.pk, "error": f"{type(exc).__name__}: {exc}"},
                )
            finally:
                self._left = True
                connections.close_all()

    def _register(self) -> None:
        with transaction.atomic():
            # Dead workers whose mails were all taken over or given back.
            dead_workers().exclude(mails__status=OutboundMail.Status.SENDING).delete()
            row = MailWorker.objects.create(
                hostname=socket.gethostname()[:255], pid=os.getpid(), heartbeat_at=Now()
            )
        self.row = row  # once committed: until then, registering starts over
        self._beaten_at = time.monotonic()
        logger.info("mail worker started", extra={"worker": self.row.pk})
        if self._heartbeat_thread:
            threading.Thread(
                target=self._beat_in_background, name="mail-worker-heartbeat", daemon=True
            ).start()

    def _settle(self) -> int:
        """Writes the answer not recorded yet, then gives back every mail this worker still
        holds: none of them was handed to SMTP. Returns how many were given back."""
        if self.unrecorded is not None:
            self.unrecorded()
            self.unrecorded = None
        holding = OutboundMail.objects.filter(worker=self.row, status=OutboundMail.Status.SENDING)
        return give_back(holding)

    def _recover(self) -> None:
        self.beat()
        given_back = self._settle()
        self._lost_database = False
        logger.info(
            "mail worker reached the database again",
            extra={"worker": self.row.pk, "given_back": given_back},
        )

    def _beat_in_background(self) -> None:
        """The heartbeat, from a thread of its own (with its own database connection), so a
        slow SMTP server never makes a live worker look dead."""
        try:
            while not self._stopping.wait(settings.MAIL_WORKER_HEARTBEAT_SECONDS):
                try:
                    self.beat()
                except DATABASE_UNREACHABLE as exc:
                    logger.warning(
                        "mail worker heartbeat failed: the database cannot be reached",
                        extra={"worker": self.row.pk, "error": f"{type(exc).__name__}: {exc}"},
                    )
                    connections.close_all()
                except Exception:  # the heartbeat must outlive any one failure
                    logger.exception("mail worker heartbeat failed", extra={"worker": self.row.pk})
        finally:
            connections.close_all()
