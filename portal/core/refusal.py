"""One way for a service to say no: `Refused`, carrying a reason code (and, for some reasons,
a detail such as until when or how many tries are left). Views map each reason to a message
(docs/architecture.md, "Refusals"). The idea is Zulip's ConfirmationKeyError: one error type
with a code, rather than one class or result shape per refusal."""

import datetime as dt
from enum import StrEnum


class Reason(StrEnum):
    # Registration and password reset flows
    RESEND_TOO_SOON = "resend_too_soon"
    RESEND_LIMIT = "resend_limit"
    WRONG_KEY = "wrong_key"
    KEY_EXPIRED = "key_expired"
    TOO_MANY_WRONG_KEYS = "too_many_wrong_keys"
    FLOW_ENDED = "flow_ended"
    ALREADY_COMPLETED = "already_completed"
    NOT_READY = "not_ready"
    TERMS_OUTDATED = "terms_outdated"
    RATE_LIMITED = "rate_limited"
    MAIL_CAPPED = "mail_capped"  # the address has had its mails for now (lifts_at)
    # Login and one-time password
    LOGIN_FAILED = "login_failed"
    LOCKED = "locked"
    OTP_UNAVAILABLE = "otp_unavailable"
    OTP_WRONG = "otp_wrong"
    OTP_EXPIRED = "otp_expired"
    OTP_EXHAUSTED = "otp_exhausted"
    CHALLENGE_ENDED = "challenge_ended"
    # Passkeys (WebAuthn ceremonies)
    PASSKEY_FAILED = "passkey_failed"
    PASSKEY_EXPIRED = "passkey_expired"
    PASSKEY_NOT_DISCOVERABLE = "passkey_not_discoverable"
    PASSKEY_LIMIT = "passkey_limit"
    PASSKEY_DUPLICATE = "passkey_duplicate"
    # Password change
    CURRENT_PASSWORD_WRONG = "current_password_wrong"  # noqa: S105 (a reason code)
    PASSWORD_UNCHANGED = "password_unchanged"  # noqa: S105 (a reason code)


class Refused(Exception):
    """A service refused. `reason` says why; the other attributes are set where they apply."""

    def __init__(
        self,
        reason: Reason,
        *,
        locked_until: dt.datetime | None = None,
        tries_left: int = 0,
        wait_seconds: int = 0,
        lifts_at: dt.datetime | None = None,
        subject=None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until
        self.tries_left = tries_left
        self.wait_seconds = wait_seconds
        self.lifts_at = lifts_at
        # What the refusal is about, when the view needs it (the flow, the account).
        self.subject = subject
