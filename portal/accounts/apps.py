from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models import CharField, EmailField
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = gettext_lazy("アカウント")
    default = True

    def ready(self) -> None:
        # `email__lower=...` compiles to LOWER(email) = ..., which the functional unique
        # indexes on e-mail columns serve on PostgreSQL and SQLite alike.
        CharField.register_lookup(Lower)
        EmailField.register_lookup(Lower)


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the staff admin site (portal.accounts.sites) as admin.site."""

    default = False
    default_site = "portal.accounts.sites.StaffAdminSite"
