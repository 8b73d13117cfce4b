"""The current password checked on its own, for a password change whose new password the
form already refused: one submission then reports every problem at once."""

from django.contrib.auth.hashers import check_password
from django.views.decorators.debug import sensitive_variables

from portal.accounts.models import LoginEvent
from portal.accounts.services import LockStatus, login_failure_record, login_lock_status


@sensitive_variables("password")
def account_current_password_verify(
    user, password: str, *, ip: str | None, user_agent: str = ""
) -> tuple[bool, LockStatus]:
    """(whether `password` is the account's, the lock in force afterwards). A wrong one counts
    toward the lockout exactly as in account_password_change; a locked ID checks nothing."""
    lock = login_lock_status(user.email, ip)
    if lock.locked:
        return False, lock
    # check_password, not user.check_password: a right answer here changes nothing (no rehash).
    if check_password(password, user.password):
        return True, lock
    lock = login_failure_record(
        user.email,
        ip=ip,
        user=user,
        user_agent=user_agent,
        outcome=LoginEvent.Outcome.CURRENT_PASSWORD_FAILURE,
    )
    return False, lock
