"""What the console recovery commands share: the operator's name (required, audited) and
finding the account. None of them sends mail, so they work with SMTP down."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext, gettext_lazy

from portal.core.text import normalize_email


def add_operator_argument(parser) -> None:
    parser.add_argument(
        "--operator",
        required=True,
        help=gettext_lazy("作業する人の氏名（監査ログに記録します）"),
    )


def operator_label(options) -> str:
    name = " ".join((options["operator"] or "").split())
    if not name:
        raise CommandError(gettext("--operator に作業する人の氏名を指定してください。"))
    return f"console:{name}"[:100]


def staff_account(email: str):
    user = get_user_model().objects.filter(email=normalize_email(email), is_staff=True).first()
    if user is None:
        raise CommandError(gettext("職員アカウントが見つかりません: %(email)s") % {"email": email})
    return user
