from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "portal.counter"
    label = "counter"
    verbose_name = "窓口"
