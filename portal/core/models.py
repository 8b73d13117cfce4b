from django.db import models
from django.utils.translation import gettext_lazy as _


class RateLimitCounter(models.Model):
    """One fixed-window rate-limit counter (portal.core.ratelimit), kept in the database when
    the cache is not Redis: a row per key and window, counted up with an UPDATE so that
    concurrent hits wait on the row's lock and each sees its own count."""

    key = models.CharField(_("キー"), max_length=200, primary_key=True)
    count = models.PositiveIntegerField(_("回数"), default=0)
    expires_at = models.DateTimeField(_("期限"), db_index=True)

    class Meta:
        verbose_name = _("回数制限カウンター")
        verbose_name_plural = _("回数制限カウンター")

    def __str__(self) -> str:
        return f"{self.key} {self.count}"
