from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from portal.accounts.management.commands._console import add_operator_argument, operator_label
from portal.accounts.services.lockout import login_lock_clear
from portal.jobseekers.models import JobSeeker
from portal.jobseekers.parsing import parse_email


class Command(BaseCommand):
    help = "Lifts every login lock of a job seeker's My Page account (from every IP); audited."

    def add_arguments(self, parser):
        parser.add_argument("job_seeker", help=gettext_lazy("求職番号、またはメールアドレス"))
        add_operator_argument(parser)

    def handle(self, *args, **options):
        operator = operator_label(options)
        key = options["job_seeker"].strip()
        jobseeker = JobSeeker.objects.select_related("user").filter(number=key).first()
        if jobseeker is None and "@" in key:
            jobseeker = (
                JobSeeker.objects.select_related("user")
                .filter(email__lower=parse_email(key))
                .first()
            )
        if jobseeker is None:
            raise CommandError(gettext("求職者が見つかりません: %(key)s") % {"key": key})
        if jobseeker.user is None:
            self.stdout.write(f"{jobseeker.number}: no My Page account yet, nothing to unlock")
            return
        locks = login_lock_clear(jobseeker.user, actor_label=operator, reason="console")
        self.stdout.write(f"unlocked {jobseeker.number}: {locks} lock(s) lifted")
