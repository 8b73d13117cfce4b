from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from portal.core.clock import now

JOB_SEEKER_NUMBER_PATTERN = r"^\d{5}-\d{8}$"


class JobSeeker(models.Model):
    """A job seeker registered at the counter (本登録). The My Page account opens later."""

    class Status(models.TextChoices):
        PENDING = "pending", _("パスワード未登録")
        ACTIVE = "active", _("利用中")
        LOCKED = "locked", _("利用停止")

    number = models.CharField(
        _("求職番号"),
        max_length=14,
        unique=True,
        validators=[
            RegexValidator(
                JOB_SEEKER_NUMBER_PATTERN,
                _("求職番号は「5桁-8桁」の半角数字で入力してください（例：13010-00000001）。"),
            )
        ],
    )
    name = models.CharField(_("氏名"), max_length=100)
    name_kana = models.CharField(_("氏名（カナ）"), max_length=100)
    email = models.EmailField(_("メールアドレス"), max_length=100)
    birth_date = models.DateField(_("生年月日"))
    office = models.CharField(_("ハローワーク"), max_length=100, blank=True)
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("アカウント"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobseeker",
    )
    created_at = models.DateTimeField(_("登録日時"), default=now)
    updated_at = models.DateTimeField(_("更新日時"), default=now)
    # Set while the registration is closed (lapsed, or ended with a job): no login, no
    # registration; reopening clears it and nothing else was changed.
    closed_at = models.DateTimeField(_("利用終了日時"), null=True, blank=True)
    # Counts the record's writes through the register's upsert; the API's ETag.
    version = models.PositiveIntegerField(_("版"), default=1, db_default=1, editable=False)

    class Meta:
        verbose_name = _("求職者")
        verbose_name_plural = _("求職者")
        ordering = ["number"]
        constraints = [models.UniqueConstraint(Lower("email"), name="jobseeker_email_ci_unique")]
        indexes = [models.Index(fields=["office"], name="jobseeker_office_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"
