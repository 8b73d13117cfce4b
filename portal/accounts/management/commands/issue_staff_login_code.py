from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy

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
        parser.add_argument("email", help=gettext_lazy("職員のメールアドレス（ログインID）"))
        add_operator_argument(parser)

    def handle(self, *args, **options):
        operator = operator_label(options)
        user = staff_account(options["email"])
        try:
            code = staff_login_code_issue(user, operator=operator)
        except LoginChallenge.DoesNotExist:
            # Nothing to do yet, not a failure: the operator asks the staff member to begin.
            self.stdout.write(
                f"no login begun for {user.email}: ask them to enter their ID and password on "
                "/staff/login/ first, then run this again"
            )
            return
        self.stdout.write(f"one-time password for {user.email}: {code}")
