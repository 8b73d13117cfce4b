from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.core.clock import now


class MailWorker(models.Model):
    """A running `manage.py deliver_mail`. It renews `heartbeat_at` every
    MAIL_WORKER_HEARTBEAT_SECONDS, in the database's clock, from a thread of its own, and the
    leases it holds last only while it does: a worker silent for three heartbeats is dead, and
    another worker takes its mails over without waiting for their leases to run out."""

    hostname = models.CharField(_("ホスト名"), max_length=255)
    pid = models.PositiveIntegerField(_("プロセスID"))
    started_at = models.DateTimeField(_("開始日時"), default=now)
    heartbeat_at = models.DateTimeField(_("最終応答日時"))

    class Meta:
        verbose_name = _("配信ワーカー")
        verbose_name_plural = _("配信ワーカー")

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class OutboundMail(models.Model):
    """A mail in the outbox, written in the same transaction as the change that causes it and
    delivered by `manage.py deliver_mail`. A secret (an auth key) is kept encrypted in
    `secret_sealed` and put into the body only by the worker, at sending time."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("送信待ち")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗")
        # Written so that every path of a request does the same work, but never sent:
        SUPPRESSED = "suppressed", _("送信なし（該当なし）")
        CAPPED = "capped", _("送信なし（上限超過）")
        SUPERSEDED = "superseded", _("送信なし（新しいメールに置換）")

    created_at = models.DateTimeField(_("作成日時"), default=now)
    to = models.CharField(_("宛先"), max_length=254, db_index=True)
    kind = models.CharField(_("種類"), max_length=64)
    # The language the mail is written in; the worker writes the deadline in it too.
    language = models.CharField(_("言語"), max_length=8, default="ja")
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    secret_sealed = models.BinaryField(_("暗号化された認証キー"), null=True, blank=True)
    # The secret's lifetime runs from `handed_over_at` (or, before that is recorded, from the
    # moment the worker builds the message): the worker writes the deadline into the body.
    secret_valid_minutes = models.PositiveIntegerField(_("有効期間（分）"), null=True, blank=True)
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次回試行"), default=now)
    lease_until = models.DateTimeField(_("処理期限"), null=True, blank=True)
    # The worker holding the lease (while the mail is `sending`); the lease dies with it.
    worker = models.ForeignKey(
        MailWorker,
        verbose_name=_("配信ワーカー"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mails",
    )
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    # The start of the first attempt that may have reached the recipient: one SMTP accepted, or
    # one whose answer was lost (the connection dropped or timed out while sending).
    handed_over_at = models.DateTimeField(_("初回引き渡し日時"), null=True, blank=True)
    last_error = models.CharField(_("直近のエラー"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("送信メール")
        verbose_name_plural = _("送信メール")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="mail_due_idx"),
            models.Index(fields=["to", "created_at"], name="mail_to_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to} ({self.status})"


class MailAttempt(models.Model):
    mail = models.ForeignKey(OutboundMail, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(_("試行日時"), default=now)
    ok = models.BooleanField(_("成功"))
    error = models.CharField(_("エラー"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("送信試行")
        verbose_name_plural = _("送信試行")

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {'OK' if self.ok else self.error[:40]}"
