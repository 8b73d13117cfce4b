import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.clock import now
from portal.core.text import normalize_email


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username))

    def create_user(self, email, password=None, **extra):
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login: job seekers (login ID = e-mail) and staff alike; staff have is_staff. The staff
    admin lists staff accounts under this model and job seekers' accounts under
    JobSeekerAccount, and no form there sets is_staff: staff accounts are created as staff."""

    # Always stored normalised (lower-case), so a plain unique index is case-insensitive.
    email = models.EmailField(_("メールアドレス"), max_length=100, unique=True)
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    is_staff = models.BooleanField(_("職員"), default=False)
    is_active = models.BooleanField(_("有効"), default=True)
    date_joined = models.DateTimeField(_("登録日時"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        verbose_name = _("職員アカウント")
        verbose_name_plural = _("職員アカウント")

    def __str__(self) -> str:
        return self.email


class JobSeekerAccount(User):
    """A job seeker's login (a User without is_staff), listed apart from staff accounts."""

    class Meta:
        proxy = True
        verbose_name = _("求職者のアカウント")
        verbose_name_plural = _("求職者のアカウント")


class LoginThrottle(models.Model):
    """Failed-login counters, in the database so that they hold across processes and restarts.

    Keyed on an HMAC of the login ID as typed (normalised), never the ID itself, so that IDs
    that belong to nobody are counted and locked exactly like real ones and a password typed
    into the ID field is not stored. One row per (ID, client IP) and one account-wide row."""

    class Scope(models.TextChoices):
        ACCOUNT_AND_IP = "pair", _("アカウントとIPアドレス")
        ACCOUNT = "account", _("アカウント全体")

    login_key = models.CharField(_("ID（ハッシュ）"), max_length=64)
    scope = models.CharField(_("範囲"), max_length=8, choices=Scope.choices)
    ip = models.CharField(_("IPアドレス"), max_length=45, blank=True)
    failures = models.PositiveIntegerField(_("失敗回数"), default=0)
    last_failure_at = models.DateTimeField(_("最終失敗日時"), null=True, blank=True)
    locked_until = models.DateTimeField(_("ロック期限"), null=True, blank=True)

    class Meta:
        verbose_name = _("ログイン失敗カウンター")
        verbose_name_plural = _("ログイン失敗カウンター")
        constraints = [
            models.UniqueConstraint(
                fields=["login_key", "scope", "ip"], name="login_throttle_unique"
            )
        ]
        indexes = [models.Index(fields=["last_failure_at"], name="login_throttle_last_idx")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.ip} {self.failures}"


class LoginEvent(models.Model):
    """One login or failed login, shown to the job seeker as ログイン履歴."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("ログイン")
        PASSKEY = "passkey", _("ログイン（パスキー）")
        PASSWORD_FAILURE = "password_failure", _("ログイン失敗（IDまたはパスワードの誤り）")
        OTP_FAILURE = "otp_failure", _("ログイン失敗（ワンタイムパスワードの誤り）")
        LOCKED = "locked", _("ログイン失敗（ロック中）")
        CURRENT_PASSWORD_FAILURE = (
            "current_password_failure",
            _("パスワード変更失敗（現在のパスワードの誤り）"),
        )

    class Channel(models.TextChoices):
        MYPAGE = "mypage", _("マイページ")
        STAFF = "staff", _("窓口管理")

    created_at = models.DateTimeField(_("日時"), default=now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("アカウント"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="login_events",
    )
    login_key = models.CharField(_("ID（ハッシュ）"), max_length=64, db_index=True)
    outcome = models.CharField(_("結果"), max_length=32, choices=Outcome.choices)
    channel = models.CharField(
        _("経路"), max_length=8, choices=Channel.choices, default=Channel.MYPAGE
    )
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    user_agent = models.CharField(_("ブラウザ"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("ログイン履歴")
        verbose_name_plural = _("ログイン履歴")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="login_event_user_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.outcome}"


class LoginChallenge(models.Model):
    """The one-time-password step of one login attempt, bound to the browser's session.

    Only an HMAC of the code is stored. A resend replaces the code and its deadline but keeps
    the count of wrong tries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_challenges"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=now)
    sent_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    resends = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("ワンタイムパスワード")
        verbose_name_plural = _("ワンタイムパスワード")
        indexes = [models.Index(fields=["created_at"], name="login_challenge_created_idx")]

    def __str__(self) -> str:
        return str(self.pk)

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.ended_at is None


class TrustedBrowser(models.Model):
    """A browser on which the job seeker chose to skip the one-time password. The browser holds
    a signed cookie naming this row; deleting the row revokes it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_browsers"
    )
    created_at = models.DateTimeField(_("登録日時"), default=now)
    expires_at = models.DateTimeField(_("有効期限"))
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    user_agent = models.CharField(_("ブラウザ"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("ワンタイムパスワード省略ブラウザ")
        verbose_name_plural = _("ワンタイムパスワード省略ブラウザ")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"


class UserSession(models.Model):
    """The server-side sessions of a logged-in account, so that they can be ended whatever the
    session engine (database or cache): on a password change, an e-mail change at the counter."""

    session_key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracked_sessions"
    )
    created_at = models.DateTimeField(default=now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("ログイン中のセッション")
        verbose_name_plural = _("ログイン中のセッション")

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"
