"""Logged-in sessions end after settings.SESSION_IDLE_MINUTES without a request. Anonymous
sessions (a registration flow waiting for its key) are left alone. The staff admin answers only
the networks of settings.STAFF_ALLOWED_NETWORKS."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.accounts.services.sessions import LAST_ACTIVITY_SESSION_KEY, user_session_forget
from portal.accounts.staff_auth import staff_network_allowed
from portal.core.clock import clock
from portal.core.origin import request_origin

# The last activity is written at most this often, so that not every request saves the session.
_TOUCH_SECONDS = 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = clock.now().timestamp()
            last = request.session.get(LAST_ACTIVITY_SESSION_KEY)
            if last is not None and now - float(last) > settings.SESSION_IDLE_MINUTES * 60:
                return self._expire(request)
            if last is None or now - float(last) >= _TOUCH_SECONDS:
                request.session[LAST_ACTIVITY_SESSION_KEY] = now
        return self.get_response(request)

    def _expire(self, request):
        admin_index = reverse("admin:index")
        login_url = (
            reverse("admin:login")
            if request.path.startswith(admin_index)
            else reverse("accounts:login")
        )
        user_session_forget(request.session.session_key)
        logout(request)  # deletes the server-side session
        messages.info(
            request,
            _(
                "%(minutes)d分以上操作がなかったため、安全のためログアウトしました。"
                "もう一度ログインしてください。"
            )
            % {"minutes": settings.SESSION_IDLE_MINUTES},
        )
        return redirect_to_login(request.get_full_path(), login_url)


class StaffNetworkMiddleware:
    """The staff admin answers 404 to clients outside settings.STAFF_ALLOWED_NETWORKS (empty =
    anywhere), the client address taken from trusted proxies only (portal.core.client_ip). A
    404, not a 403, so that the admin's existence is not confirmed from outside."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.STAFF_ALLOWED_NETWORKS and request.path_info.startswith(_staff_prefix()):
            if not staff_network_allowed(request_origin(request)):
                raise Http404
        return self.get_response(request)


def _staff_prefix() -> str:
    return reverse("admin:index")
