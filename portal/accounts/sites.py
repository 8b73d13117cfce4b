"""The staff admin site: Django's AdminSite whose pages need the staff login's second factor.

`has_permission` is what every admin page (the index, each ModelAdmin's views, custom views
wrapped in `admin_view`) checks, so a session that passed only the password, or a staff
account logged in some other way, reaches none of them. The login itself is the staff login of
portal.accounts.staff_views (password, then the mailed one-time password)."""

from django.contrib import admin
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from portal.accounts import staff_auth, staff_views


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return super().has_permission(request) and staff_auth.staff_second_factor_passed(request)

    def login(self, request, extra_context=None):
        return _login(request, self, extra_context)

    def get_urls(self):
        return [
            path("login/otp/", self._otp, name="staff_otp"),
            path("login/otp/resend/", self._otp_resend, name="staff_otp_resend"),
            path(
                "email/",
                self.admin_view(sensitive_post_parameters("code")(self._email_change)),
                name="staff_email_change",
            ),
            *super().get_urls(),
        ]

    def _otp(self, request):
        return _otp(request, self)

    def _otp_resend(self, request):
        return _otp_resend(request, self)

    def _email_change(self, request):
        return staff_views.staff_email_change_view(request, self)


# Django's admin login is never cached, CSRF-protected and keeps the password out of error
# reports; the staff login and its one-time-password pages are the same.
_login = sensitive_post_parameters("password")(
    csrf_protect(never_cache(require_http_methods(["GET", "POST"])(staff_views.staff_login_view)))
)
_otp = sensitive_post_parameters("code")(
    csrf_protect(never_cache(require_http_methods(["GET", "POST"])(staff_views.staff_otp_view)))
)
_otp_resend = csrf_protect(never_cache(staff_views.staff_otp_resend_view))
