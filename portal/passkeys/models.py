from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.core.clock import now


class Passkey(models.Model):
    """A WebAuthn credential (discoverable, user-verifying) registered to an account. Only the
    public key is stored; a disabled passkey (its sign count went backwards) never logs in."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("アカウント"),
        on_delete=models.CASCADE,
        related_name="passkeys",
    )
    name = models.CharField(_("名前"), max_length=64)
    # base64url of the credential ID, as the browser sends it.
    credential_id = models.CharField(_("クレデンシャルID"), max_length=1400, unique=True)
    public_key = models.BinaryField(_("公開鍵"))
    user_handle = models.CharField(max_length=100)
    sign_count = models.PositiveBigIntegerField(_("署名カウンター"), default=0)
    transports = models.JSONField(default=list, blank=True)
    backed_up = models.BooleanField(_("同期されたパスキー"), default=False)
    created_at = models.DateTimeField(_("登録日時"), default=now)
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("無効にした日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("パスキー")
        verbose_name_plural = _("パスキー")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name
