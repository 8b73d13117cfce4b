import getpass

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from portal.jobseekers.importer import DEFAULT_BATCH_SIZE, ImportFileError, jobseeker_import


class Command(BaseCommand):
    help = (
        "Imports job seekers from a CSV file (header: job_seeker_number,name,name_kana,email,"
        "birth_date[,office]; UTF-8 with or without BOM, or CP932). Exits non-zero when any "
        "row was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args, **options):
        try:
            result = jobseeker_import(
                options["file"],
                actor_label=f"manage.py import_jobseekers ({_os_user()})",
                batch_size=options["batch_size"],
                on_reject=lambda line, message: self.stderr.write(
                    _("%(line)d行目: %(message)s") % {"line": line, "message": message}
                ),
            )
        except (ImportFileError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(result.summary())
        if result.rejected:
            raise CommandError(
                _("%(count)d 行を取り込めませんでした（行番号と理由は上のとおり）。")
                % {"count": result.rejected}
            )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"
