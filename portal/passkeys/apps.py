from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "portal.passkeys"
    label = "passkeys"
    verbose_name = "パスキー"

    def ready(self) -> None:
        from portal.passkeys import checks  # noqa: F401 (registers the settings check)
