from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CoreConfig(AppConfig):
    name = "portal.core"
    label = "core"
    verbose_name = gettext_lazy("共通")
