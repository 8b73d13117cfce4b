from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PasskeysConfig(AppConfig):
    name = "portal.passkeys"
    label = "passkeys"
    verbose_name = gettext_lazy("パスキー")

    def ready(self) -> None:
        # Imported here, not at the top: admin.site is set up and the checks registered only
        # once the app registry is ready (Django's AppConfig.ready()); no import circle.
        from django.contrib import admin

        from portal.passkeys import checks  # noqa: F401 (registers the settings check)

        # The staff login page with the passkey login added to Django's own form.
        admin.site.login_template = "passkeys/staff_login.html"
