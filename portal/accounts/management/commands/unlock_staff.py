from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy

from portal.accounts.management.commands._console import (
    add_operator_argument,
    operator_label,
    staff_account,
)
from portal.accounts.services.lockout import login_lock_clear


class Command(BaseCommand):
    help = "Lifts every login lock of a staff account (from every IP); audited."

    def add_arguments(self, parser):
        parser.add_argument("email", help=gettext_lazy("職員のメールアドレス（ログインID）"))
        add_operator_argument(parser)

    def handle(self, *args, **options):
        operator = operator_label(options)
        user = staff_account(options["email"])
        locks = login_lock_clear(user, actor_label=operator, reason="console")
        self.stdout.write(f"unlocked {user.email}: {locks} lock(s) lifted")
