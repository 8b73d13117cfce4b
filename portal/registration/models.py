from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.core.clock import now
from portal.registration.flow import Purpose, Stage


class RegistrationFlow(models.Model):
    """One browser's way through the screens. The auth key exists only as an HMAC bound to
    this flow's id and purpose; its 50 minutes run from the delivery of `key_mail`."""

    reference = models.CharField(_("受付番号"), max_length=16, unique=True)
    purpose = models.CharField(_("種類"), max_length=10, choices=Purpose.choices)
    stage = models.CharField(_("段階"), max_length=16, choices=Stage.choices)
    started_at = models.DateTimeField(_("開始日時"), default=now)
    expires_at = models.DateTimeField(_("手続きの期限"))
    privacy_version = models.CharField(
        _("同意したプライバシーポリシー版"), max_length=64, blank=True
    )
    terms_version = models.CharField(_("同意したマイページ利用規約版"), max_length=64, blank=True)
    email = models.CharField(_("入力されたメールアドレス"), max_length=254, blank=True)
    # Set only when e-mail and birth date matched an account the purpose applies to;
    # a flow without it behaves the same on screen, but no key works.
    jobseeker = models.ForeignKey(
        "jobseekers.JobSeeker",
        verbose_name=_("求職者"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="flows",
    )
    key_hash = models.BinaryField(_("認証キーのHMAC"), null=True, blank=True)
    key_mail = models.ForeignKey(
        "mail.OutboundMail",
        verbose_name=_("認証キーのメール"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The answer ② gave (which mail, sent or not), repeated by a resend.
    mail_kind = models.CharField(_("メールの種類"), max_length=64, blank=True)
    mail_deliver = models.BooleanField(_("メール送信あり"), default=False)
    key_requested_at = models.DateTimeField(_("認証キー発行日時"), null=True, blank=True)
    wrong_keys = models.PositiveSmallIntegerField(_("誤った認証キーの回数"), default=0)
    resends = models.PositiveSmallIntegerField(_("再送信の回数"), default=0)
    completed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    ended_reason = models.CharField(_("終了理由"), max_length=32, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), default=now)

    class Meta:
        verbose_name = _("パスワード登録手続き")
        verbose_name_plural = _("パスワード登録手続き")
        indexes = [models.Index(fields=["jobseeker", "stage"], name="flow_jobseeker_stage_idx")]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_stage_display()})"
