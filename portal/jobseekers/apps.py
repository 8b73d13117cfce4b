from django.apps import AppConfig


class JobseekersConfig(AppConfig):
    name = "portal.jobseekers"
    label = "jobseekers"
    verbose_name = "求職者台帳"
