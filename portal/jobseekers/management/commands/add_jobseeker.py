from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from portal.jobseekers.services import jobseeker_register


class Command(BaseCommand):
    help = gettext_lazy("窓口で求職者を1件登録します（本登録）。同じ求職番号があれば更新します。")

    def add_arguments(self, parser):
        parser.add_argument("--number", required=True, help=gettext_lazy("求職番号 NNNNN-NNNNNNNN"))
        parser.add_argument("--name", required=True, help=gettext_lazy("氏名"))
        parser.add_argument("--kana", required=True, help=gettext_lazy("氏名（カナ）"))
        parser.add_argument("--email", required=True, help=gettext_lazy("メールアドレス"))
        parser.add_argument("--birth-date", required=True, help=gettext_lazy("生年月日 YYYY-MM-DD"))
        parser.add_argument("--office", default="", help=gettext_lazy("ハローワーク（任意）"))
        parser.add_argument(
            "--language", default="", help=gettext_lazy("希望する言語 ja/en（任意）")
        )

    def handle(self, *args, **options):
        raw = {
            "number": options["number"],
            "name": options["name"],
            "name_kana": options["kana"],
            "email": options["email"],
            "birth_date": options["birth_date"],
            "office": options["office"],
            "language": options["language"],
        }
        try:
            jobseeker = jobseeker_register(
                raw, actor_label="manage.py add_jobseeker", source="command"
            )
        except ValidationError as exc:
            messages = (
                [f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms]
                if hasattr(exc, "error_dict")
                else exc.messages
            )
            raise CommandError(
                gettext("登録できませんでした: %(errors)s") % {"errors": " / ".join(messages)}
            ) from None
        self.stdout.write(f"registered {jobseeker.number} {jobseeker.email} ({jobseeker.status})")
