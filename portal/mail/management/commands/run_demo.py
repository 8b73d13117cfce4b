import threading
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from portal.jobseekers.models import JobSeeker
from portal.jobseekers.services import jobseeker_register
from portal.jobseekers.uploads import jobseeker_upload_run_next
from portal.mail.demo_sink import demo_sink_start
from portal.mail.services import mail_deliver_due

# (number, name, kana, e-mail, birth date, the job seeker's own language)
DEMO_JOBSEEKERS = [
    ("13010-00000001", "山田 太郎", "ヤマダ タロウ", "taro@example.jp", "1990-04-01", "ja"),
    ("13010-00000002", "佐藤 花子", "サトウ ハナコ", "hanako@example.jp", "1985-12-24", "ja"),
    ("27010-00000003", "鈴木 一郎", "スズキ イチロウ", "ichiro@example.jp", "1978-07-07", "ja"),
    ("13010-00000004", "Emma Clark", "エマ クラーク", "emma@example.jp", "1992-03-04", "en"),
]


class Command(BaseCommand):
    help = (
        "Demo on the embedded default: migrates SQLite, adds demo job seekers, and runs the web "
        "server, the mail worker and a local SMTP sink with a mailbox page, all on 127.0.0.1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port=8000, **options):
        if not (settings.DEBUG and settings.DEMO_MAILBOX):
            raise CommandError("run_demo needs DEBUG=1 and DEMO_MAILBOX=1 (./dev demo sets both).")
        if settings.EMAIL_HOST not in ("127.0.0.1", "localhost"):
            raise CommandError("run_demo delivers to its own local SMTP sink only.")
        call_command("migrate", verbosity=0)
        for number, name, kana, email, birth, language in DEMO_JOBSEEKERS:
            raw = {"number": number, "name": name, "name_kana": kana, "email": email,
                   "birth_date": birth, "office": "デモ公共職業安定所",
                   "language": language}  # fmt: skip
            try:
                jobseeker_register(raw, actor_label="run_demo", source="demo")
            except ValidationError as exc:
                self.stderr.write(f"demo job seeker {number} not added: {exc.messages}")
        demo_sink_start("127.0.0.1", settings.EMAIL_PORT)
        threading.Thread(target=self._deliver_forever, daemon=True, name="mail-worker").start()
        threading.Thread(target=self._import_forever, daemon=True, name="csv-import").start()
        # localhost, not 127.0.0.1: WebAuthn refuses an IP address as the relying party ID,
        # so passkeys work only at a host name (the server still listens on loopback only).
        base = f"http://localhost:{port}"
        if base not in settings.WEBAUTHN_ORIGINS:
            self.stderr.write(
                f"passkeys are off at {base}: set WEBAUTHN_ORIGINS={base} to use them"
            )
        self.stdout.write(
            gettext(
                "\n求職者マイページ デモ\n"
                "  トップ:            %(base)s/\n"
                "  デモ用メールボックス: %(base)s/demo/mailbox/  "
                "(認証キーのメールはここに届きます)\n"
                "  デモ用の求職者（窓口で登録済み）と、いまの状態:\n"
            )
            % {"base": base}
            + self._demo_list()
        )
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)

    def _demo_list(self) -> str:
        """Each demo job seeker as the register holds it now: a second start of the demo
        finds them as the first one left them (password registered, suspended…)."""
        states = dict(
            JobSeeker.objects.filter(number__in=[row[0] for row in DEMO_JOBSEEKERS]).values_list(
                "number", "status"
            )
        )
        lines = []
        for number, _name, _kana, email, birth, _language in DEMO_JOBSEEKERS:
            status = states.get(number)
            label = JobSeeker.Status(status).label if status else gettext("登録なし")
            lines.append(
                gettext("    %(email)s  生年月日 %(birth)s  状態: %(state)s\n")
                % {"email": email, "birth": birth, "state": label}
            )
        return "".join(lines)

    def _deliver_forever(self):
        while True:
            try:
                if not mail_deliver_due().handled:
                    time.sleep(1)
            except Exception as exc:  # noqa: BLE001 - keep the demo's worker alive
                self.stderr.write(f"mail worker: {exc}")
                time.sleep(2)

    def _import_forever(self):
        # The staff admin's CSV uploads, as the mail worker's process imports them.
        while True:
            try:
                if not jobseeker_upload_run_next():
                    time.sleep(1)
            except Exception as exc:  # noqa: BLE001 - keep the demo's worker alive
                self.stderr.write(f"csv import: {exc}")
                time.sleep(2)
