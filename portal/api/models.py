"""Client systems of the integration API, their tokens and the POST answers kept for
Idempotency-Key. A token's secret is never stored: only its HMAC-SHA256 under
settings.API_TOKEN_KEY (see portal.api.tokens)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.core.clock import now

SCOPES = (
    ("register:read", _("台帳の参照")),
    ("register:write", _("台帳の登録・更新・利用終了")),
    ("accounts:unlock", _("アカウントのロック解除")),
    ("accounts:email-change", _("開設済みアカウントのメールアドレス変更")),
)


class ApiClient(models.Model):
    """A client system (e.g. the office's core system)."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("登録日時"), default=now)

    class Meta:
        verbose_name = _("API利用システム")
        verbose_name_plural = _("API利用システム")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    client = models.ForeignKey(
        ApiClient, verbose_name=_("利用システム"), on_delete=models.CASCADE, related_name="tokens"
    )
    # The public part of `mp_<token_id>_<secret>`: how a presented token is found.
    token_id = models.CharField(_("トークンID"), max_length=32, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)  # HMAC-SHA256 of the secret, hex
    scopes = models.JSONField(_("スコープ"), default=list)
    networks = models.JSONField(_("接続元ネットワーク（CIDR）"), default=list, blank=True)
    created_at = models.DateTimeField(_("発行日時"), default=now)
    expires_at = models.DateTimeField(_("有効期限"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("最終利用IP"), null=True, blank=True)

    class Meta:
        verbose_name = _("APIトークン")
        verbose_name_plural = _("APIトークン")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.client} mp_{self.token_id}_…"


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an Idempotency-Key, per client, bound to a digest of
    the operation and body."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="api_idempotency_client_key")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.key}"
