"""Logged-in sessions end after settings.SESSION_IDLE_MINUTES without a request. Anonymous
sessions (a registration flow waiting for its key) are left alone."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.accounts.services.sessions import LAST_ACTIVITY_SESSION_KEY, user_session_forget
from portal.core.clock import clock

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
