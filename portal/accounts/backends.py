"""The authentication backend behind `django.contrib.auth.authenticate()` (the staff admin's own
login is portal.accounts.staff_views: it does not go through here, and treats a job seeker's ID
as unknown). It applies the same database-kept lockout as the My Page login: failures count and
locked IDs are refused. A job seeker's right password authenticates (the admin still refuses
non-staff), but only a staff login clears the counters and is logged as a login, since a job
seeker's login is complete only after the one-time password of the My Page login."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from portal.accounts.models import LoginEvent
from portal.accounts.selectors import login_key
from portal.accounts.services.lockout import login_event_record, login_failures_reset
from portal.accounts.services.login import login_password_attempt
from portal.core.origin import NO_REQUEST, request_origin
from portal.core.refusal import Reason, Refused
from portal.core.text import normalize_email


class LockoutModelBackend(ModelBackend):
    def get_user(self, user_id):
        """The session's account with its job seeker in one query: every My Page request
        checks both (accounts.selectors.mypage_allowed)."""
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("jobseeker").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def authenticate(self, request, username=None, password=None, **kwargs):
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if username is None or password is None:
            return None
        origin = request_origin(request) if request is not None else NO_REQUEST
        user = user_model.objects.filter(email=normalize_email(username)).first()
        channel = LoginEvent.Channel.STAFF
        try:
            login_password_attempt(username, password, user=user, origin=origin, channel=channel)
        except Refused as refusal:
            if refusal.reason == Reason.LOCKED:
                raise PermissionDenied from None  # stops authenticate() at once
            return None
        if not self.user_can_authenticate(user):
            return None
        if not user.is_staff:
            return user
        login_failures_reset(login_key(user.email), origin)
        login_event_record(
            LoginEvent.Outcome.SUCCESS,
            key=login_key(user.email),
            user=user,
            origin=origin,
            channel=channel,
        )
        return user
