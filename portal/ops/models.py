from django.db import models
from django.utils.translation import gettext_lazy as _


class PurgedFlowCount(models.Model):
    """How many flows `manage.py purge` removed, per kind, so that the flow counters in
    /metrics (rows in the database + rows purged) never go down."""

    purpose = models.CharField(_("種類"), max_length=10)
    stage = models.CharField(_("段階"), max_length=16)
    ended_reason = models.CharField(_("終了理由"), max_length=32, blank=True)
    # Still open (terms_agreed / key_sent) but past its deadline when purged.
    abandoned = models.BooleanField(_("期限切れで放置"), default=False)
    count = models.BigIntegerField(_("件数"), default=0)

    class Meta:
        verbose_name = _("削除済み手続きの件数")
        verbose_name_plural = _("削除済み手続きの件数")
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "stage", "ended_reason", "abandoned"],
                name="purged_flow_count_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.stage}/{self.ended_reason}: {self.count}"
