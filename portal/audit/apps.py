from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = gettext_lazy("監査ログ")
