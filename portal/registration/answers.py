"""What ② answers, per purpose: which mail an address gets, and which register status may get a
working key. The answer on screen is always the same (docs/architecture.md, "Registration")."""

import datetime as dt

from portal.jobseekers.models import JobSeeker
from portal.registration.flow import Purpose

# Which mail each answer to ② gets, per purpose. The answer on screen is always the same.
MAIL_FOR = {
    Purpose.REGISTER: {
        "key": "registration_key",
        JobSeeker.Status.ACTIVE: "registration_already_open",
        JobSeeker.Status.LOCKED: "account_suspended",
    },
    Purpose.RESET: {
        "key": "reset_key",
        JobSeeker.Status.PENDING: "reset_not_open",
        JobSeeker.Status.LOCKED: "account_suspended",
    },
}
STATUS_GETTING_KEY = {
    Purpose.REGISTER: JobSeeker.Status.PENDING,
    Purpose.RESET: JobSeeker.Status.ACTIVE,
}


def identity_answer(purpose: Purpose, jobseeker: JobSeeker | None, birth_date: dt.date):
    """(mail kind, whether it is sent, whether it carries a working key) for an answer to ②."""
    if jobseeker is None or jobseeker.closed_at is not None:
        return "identity_mismatch", False, False
    if jobseeker.birth_date != birth_date:
        return "identity_mismatch", True, False
    if jobseeker.status == STATUS_GETTING_KEY[purpose]:
        return MAIL_FOR[purpose]["key"], True, True
    return MAIL_FOR[purpose].get(jobseeker.status, "identity_mismatch"), True, False
