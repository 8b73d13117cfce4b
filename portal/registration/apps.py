from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RegistrationConfig(AppConfig):
    name = "portal.registration"
    label = "registration"
    verbose_name = gettext_lazy("パスワード登録")
