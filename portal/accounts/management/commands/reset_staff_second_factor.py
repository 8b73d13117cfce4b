from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy

from portal.accounts.management.commands._console import (
    add_operator_argument,
    operator_label,
    staff_account,
)
from portal.accounts.services.lockout import login_lock_clear
from portal.accounts.staff_auth import staff_second_factor_reset


class Command(BaseCommand):
    help = (
        "Resets a staff member's second factor: ends their open one-time-password steps and "
        "lifts their login locks, so the next login starts afresh; audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help=gettext_lazy("職員のメールアドレス（ログインID）"))
        add_operator_argument(parser)

    def handle(self, *args, **options):
        operator = operator_label(options)
        user = staff_account(options["email"])
        ended = staff_second_factor_reset(user, operator=operator)
        locks = login_lock_clear(user, actor_label=operator, reason="second_factor_reset")
        self.stdout.write(
            f"reset {user.email}: {ended} one-time-password step(s) ended, {locks} lock(s) lifted"
        )
