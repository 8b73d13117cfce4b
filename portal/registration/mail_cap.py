"""② and a resend refused because the address has had its mails for the day: the flow stays
where it is and the screen says so, instead of moving on as if a key were coming."""

from portal.core.refusal import Reason, Refused
from portal.mail.caps import mail_cap_lifts_at


def flow_mail_cap_check(address: str, *, with_key: bool) -> None:
    """Raises Refused(MAIL_CAPPED, lifts_at=...) when the mail this answer gets would be
    capped. The same budget is asked for every answer of its kind, so the refusal reads alike
    for pending, active, mismatched and unknown addresses."""
    lifts_at = mail_cap_lifts_at(address, with_secret=with_key)
    if lifts_at:
        raise Refused(Reason.MAIL_CAPPED, lifts_at=lifts_at)
