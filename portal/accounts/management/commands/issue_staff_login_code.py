from django.core.management.base import BaseCommand, CommandError

from portal.accounts.management.commands._console import (
    add_operator_argument,
    operator_label,
    staff_account,
)
from portal.accounts.models import LoginChallenge
from portal.accounts.staff_auth import staff_login_code_issue


class Command(BaseCommand):
    help = (
        "When the one-time-password mail cannot reach a staff member (SMTP down): gives a new "
        "one-time password for the login they have begun, on this console, for them to type "
        "in; audited. They enter their ID and password first."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="職員のメールアドレス（ログインID）")
        add_operator_argument(parser)

    def handle(self, *args, **options):
        operator = operator_label(options)
        user = staff_account(options["email"])
        try:
            code = staff_login_code_issue(user, operator=operator)
        except LoginChallenge.DoesNotExist:
            raise CommandError(
                "ログイン途中の手続きがありません。先に職員本人がIDとパスワードを入力してください。"
            ) from None
        self.stdout.write(f"one-time password for {user.email}: {code}")
