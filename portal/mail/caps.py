"""When the per-address daily cap of mail_queue lets a mail through again."""

import datetime as dt

from django.conf import settings

from portal.core.clock import clock
from portal.core.text import normalize_email
from portal.mail.models import OutboundMail

CAP_WINDOW = dt.timedelta(hours=24)


def mail_cap_lifts_at(
    address: str, *, with_secret: bool, now: dt.datetime | None = None
) -> dt.datetime | None:
    """None when a mail of this budget (with a secret or without, see mail_recent_count) to
    `address` would be sent now; else the moment the cap lets the next one through. Counted
    from the outbox rows alone, so it answers alike for addresses that exist and that don't."""
    now = now or clock.now()
    times = list(
        OutboundMail.objects.filter(
            to=normalize_email(address),
            created_at__gte=now - CAP_WINDOW,
            secret_sealed__isnull=not with_secret,
        )
        .exclude(kind__in=settings.MAIL_CAP_EXEMPT_KINDS)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    over = len(times) - settings.MAILS_PER_ADDRESS_PER_DAY
    if over < 0:
        return None
    if over >= len(times):  # a cap of 0: nothing is sent; ask again tomorrow
        return now + CAP_WINDOW
    return times[over] + CAP_WINDOW
