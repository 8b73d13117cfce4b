"""② and a resend refused because the address has had its mails for the day: the flow stays
where it is and the screen says so, instead of moving on as if a key were coming."""

import datetime as dt
from dataclasses import dataclass

from portal.mail.caps import mail_cap_lifts_at


@dataclass(frozen=True)
class MailCapped:
    lifts_at: dt.datetime


def flow_mail_capped(address: str, *, with_key: bool) -> MailCapped | None:
    """Whether the mail this answer gets would be capped. The same budget is asked for every
    answer of its kind, so the refusal reads alike for pending, active, mismatched and
    unknown addresses."""
    lifts_at = mail_cap_lifts_at(address, with_secret=with_key)
    return MailCapped(lifts_at) if lifts_at else None
