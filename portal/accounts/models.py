from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
    """A login: job seekers (login ID = e-mail) and staff alike; staff have is_staff."""

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
        verbose_name = _("ユーザー")
        verbose_name_plural = _("ユーザー")

    def __str__(self) -> str:
        return self.email
