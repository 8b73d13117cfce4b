from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class MailConfig(AppConfig):
    name = "portal.mail"
    label = "mail"
    verbose_name = gettext_lazy("メール送信")
