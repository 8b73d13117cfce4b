from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CounterConfig(AppConfig):
    name = "portal.counter"
    label = "counter"
    verbose_name = gettext_lazy("窓口")
