from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class JobseekersConfig(AppConfig):
    name = "portal.jobseekers"
    label = "jobseekers"
    verbose_name = gettext_lazy("求職者台帳")
