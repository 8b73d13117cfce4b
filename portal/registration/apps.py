from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "portal.registration"
    label = "registration"
    verbose_name = "パスワード登録"
