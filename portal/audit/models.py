from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.core.clock import now


class AuditEvent(models.Model):
    """Who did what to what, when, from where. Never a password, key or hash."""

    created_at = models.DateTimeField(_("日時"), default=now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作者"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("操作者（表示）"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    target_type = models.CharField(_("対象の種類"), max_length=64, blank=True)
    target_id = models.CharField(_("対象"), max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    detail = models.JSONField(_("詳細"), default=dict, blank=True)

    class Meta:
        verbose_name = _("監査イベント")
        verbose_name_plural = _("監査イベント")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_id}"


class FeedEvent(models.Model):
    """One entry of the integration API's change feed: a job seeker's number, what happened,
    when; nothing else. `txid` is the writing transaction's id on PostgreSQL (an xid8, stored
    as bigint) and orders the feed with `id` (see portal.audit.feed)."""

    class Type(models.TextChoices):
        ACCOUNT_OPENED = "account_opened", _("マイページ開設")
        ACCOUNT_LOCKED = "account_locked", _("ロック")
        ACCOUNT_UNLOCKED = "account_unlocked", _("ロック解除")
        ADDRESS_CHANGED = "address_changed", _("メールアドレス変更")
        CLOSED = "closed", _("利用終了")
        REOPENED = "reopened", _("利用再開")
        MAIL_FAILED = "mail_failed", _("メール送信失敗")

    number = models.CharField(_("求職番号"), max_length=14)
    type = models.CharField(_("種類"), max_length=32, choices=Type.choices)
    created_at = models.DateTimeField(_("日時"), default=now, db_index=True)
    txid = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("変更フィード")
        verbose_name_plural = _("変更フィード")
        indexes = [models.Index(fields=["txid", "id"], name="feed_event_position_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.type} {self.number}"
