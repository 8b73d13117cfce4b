from django.apps import AppConfig
from django.db.models import CharField, EmailField
from django.db.models.functions import Lower


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "アカウント"

    def ready(self) -> None:
        # `email__lower=...` compiles to LOWER(email) = ..., which the functional unique
        # indexes on e-mail columns serve on PostgreSQL and SQLite alike.
        CharField.register_lookup(Lower)
        EmailField.register_lookup(Lower)

        # The staff admin login shows the lockout message (the lockout itself is applied by
        # portal.accounts.backends.LockoutModelBackend). Imported here: admin_actions needs
        # the models, which exist only once the app registry is ready.
        from django.contrib import admin

        from portal.accounts.admin_actions import StaffAuthenticationForm

        admin.site.login_form = StaffAuthenticationForm
