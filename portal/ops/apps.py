from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OpsConfig(AppConfig):
    name = "portal.ops"
    label = "ops"
    verbose_name = gettext_lazy("運用")

    def ready(self):
        # Imported once the app registry is ready, as Django's AppConfig.ready() asks.
        from django.core.signals import request_finished

        from portal.ops.request_id import request_id_clear

        request_finished.connect(request_id_clear, dispatch_uid="portal.ops.request_id_clear")
