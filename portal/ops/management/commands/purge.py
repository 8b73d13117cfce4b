from django.core.management.base import BaseCommand

from portal.ops.services import purge_run


class Command(BaseCommand):
    help = (
        "Removes what the retention settings no longer keep: finished flows, expired sessions "
        "and cache rows, delivered mails' bodies, old audit events and login records. Run it "
        "daily (cron, a systemd timer or a Kubernetes CronJob); it is safe to run on several "
        "servers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, dry_run=False, batch_size=5000, **options):
        report = purge_run(batch_size=batch_size, dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"

        def shown(value):
            return "n/a (expired by the engine)" if value is None else value

        self.stdout.write(
            f"{verb}: flows={report.flows} sessions={shown(report.sessions)} "
            f"cache_entries={shown(report.cache_entries)} mail_bodies={report.mail_bodies} "
            f"audit_events={report.audit_events} login_records={report.login_records} "
            f"feed_events={report.feed_events} idempotency_keys={report.idempotency_keys}"
        )
