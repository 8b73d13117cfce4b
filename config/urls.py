from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy

from portal.accounts.views import language_switch
from portal.api.api import api

admin.site.site_header = gettext_lazy("求職者マイページ 窓口管理")
admin.site.site_title = gettext_lazy("窓口管理")
admin.site.index_title = gettext_lazy("窓口業務")

urlpatterns = [
    path("", include("portal.registration.urls")),
    path("", include("portal.accounts.urls")),
    path("", include("portal.passkeys.urls")),
    # Staff passkeys (own pages and the passkey login), ahead of the admin's catch-all.
    path("staff/", include("portal.passkeys.staff_urls")),
    path("staff/", admin.site.urls),
    # The language switch on every page posts here (Django's set_language: a cookie keeps it).
    path("i18n/setlang/", language_switch, name="set_language"),
    path("", include("portal.ops.urls")),
    path("api/v1/", api.urls),
]

# The service's own error pages: they never read the request's body (see portal.core.views).
handler400 = "portal.core.views.bad_request"
handler403 = "portal.core.views.permission_denied"
handler404 = "portal.core.views.page_not_found"
handler500 = "portal.core.views.server_error"

if settings.DEMO_MAILBOX:  # refused by settings unless DEBUG is on
    urlpatterns.append(path("demo/", include("portal.mail.demo_urls")))
