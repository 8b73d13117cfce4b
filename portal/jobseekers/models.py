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
    # The job seeker's own language: their mails (other than those a page asked for) and the
    # printed guide. Written by a clerk, the CSV import, a signed-in page or a completed key;
    # never by a page that anyone can use without an account (see portal.jobseekers.language).
    language = models.CharField(
        _("希望する言語"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
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


class JobSeekerUpload(models.Model):
    """A CSV file uploaded in the staff admin, imported by the worker (`deliver_mail`) outside
    the request. The counts follow the import as it runs; the file is deleted once imported."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("取込み待ち")
        RUNNING = "running", _("取込み中")
        DONE = "done", _("完了")
        FAILED = "failed", _("取込みできませんでした")

    created_at = models.DateTimeField(_("アップロード日時"), default=now, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("アップロードした職員"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    file_name = models.CharField(_("ファイル名"), max_length=255)
    file_size = models.BigIntegerField(_("ファイルサイズ（バイト）"))
    # Where the worker finds the file (under CSV_UPLOAD_DIR); emptied once the file is deleted.
    stored_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    # The worker renews this while it imports; a run whose worker died is taken over.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    encoding = models.CharField(_("文字コード"), max_length=16, blank=True)
    rows = models.PositiveIntegerField(_("処理済みの行"), default=0)
    created = models.PositiveIntegerField(_("新規"), default=0)
    updated = models.PositiveIntegerField(_("更新"), default=0)
    unchanged = models.PositiveIntegerField(_("変更なし"), default=0)
    rejected = models.PositiveIntegerField(_("エラー"), default=0)
    error = models.TextField(_("ファイル全体のエラー"), blank=True)

    class Meta:
        verbose_name = _("CSV取込み")
        verbose_name_plural = _("CSV取込み")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class JobSeekerUploadRejection(models.Model):
    """A line of an uploaded file that was not imported: its number, text and reason."""

    upload = models.ForeignKey(JobSeekerUpload, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField(_("行番号"))
    value = models.TextField(_("行の内容"), blank=True)
    reason = models.TextField(_("理由"))

    class Meta:
        verbose_name = _("取り込めなかった行")
        verbose_name_plural = _("取り込めなかった行")
        ordering = ["upload", "line", "id"]
        indexes = [models.Index(fields=["upload", "line"], name="jobseeker_upload_reject_idx")]

    def __str__(self) -> str:
        return f"{self.line}: {self.reason}"
