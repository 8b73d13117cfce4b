import logging
import signal
import time

from django.core.management.base import BaseCommand

from portal.mail.services import mail_deliver_due

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Delivers queued mails over SMTP. Runs until SIGTERM/SIGINT, or drains once with --once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="drain the due mails and exit")
        parser.add_argument("--batch-size", type=int, default=50)
        parser.add_argument("--idle-sleep", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, once=False, batch_size=50, idle_sleep=1.0, **options):
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        total = 0
        while not self.stopping:
            report = mail_deliver_due(batch_size=batch_size, should_stop=lambda: self.stopping)
            total += report.sent
            if report.handled:
                logger.info(
                    "mail batch",
                    extra={"sent": report.sent, "retried": report.retried, "failed": report.failed},
                )
                continue
            if once:
                break
            time.sleep(idle_sleep)
        if once:
            self.stdout.write(f"sent {total}")
        else:
            logger.info("mail worker stopped", extra={"sent_total": total})

    def _stop(self, signum, frame):
        self.stopping = True
