"""The job seeker list's account columns and filters: login lock state and the last mail's
status, each for a whole page in one query, and the filters 「ロック中」 and 「メール送信失敗」.

Lock counters are filed under an HMAC of the login ID (`login_key`), which SQL cannot compute:
the page's keys are computed in Python, and the filter goes through the login events that
carry both the key and the account."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Lower
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import LoginEvent, LoginThrottle
from portal.accounts.selectors import login_key
from portal.core.clock import clock
from portal.mail.models import OutboundMail


def _locked_keys() -> set[str]:
    return set(
        LoginThrottle.objects.filter(locked_until__gt=clock.now())
        .values_list("login_key", flat=True)
        .distinct()
    )


class LockedFilter(admin.SimpleListFilter):
    title = _("ログインのロック")
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", _("ロック中")), ("no", _("ロックなし"))]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        keys = _locked_keys()
        users = (
            LoginEvent.objects.filter(login_key__in=keys, user__isnull=False)
            .values("user_id")
            .distinct()
        )
        if self.value() == "yes":
            return queryset.filter(user_id__in=users) if keys else queryset.none()
        return queryset.exclude(user_id__in=users) if keys else queryset


def _last_mail_status():
    return Subquery(
        OutboundMail.objects.filter(to=OuterRef("email"))
        .order_by("-created_at", "-id")
        .values("status")[:1]
    )


class MailFailedFilter(admin.SimpleListFilter):
    title = _("最後のメール")
    parameter_name = "mail"

    def lookups(self, request, model_admin):
        return [("failed", _("送信失敗"))]

    def queryset(self, request, queryset):
        if self.value() != "failed":
            return queryset
        failed_to = OutboundMail.objects.filter(status=OutboundMail.Status.FAILED).values("to")
        # Addresses are stored in lower case: Lower("email") lets the register's unique index
        # on it find the few addresses with a failed mail.
        return (
            queryset.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=failed_to)
            .filter(last_mail_status=OutboundMail.Status.FAILED)
        )


class _AccountChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        pairs = [(obj, login_key(obj.email)) for obj in self.result_list if obj.user_id]
        keys = {key for _, key in pairs}
        locked = set()
        if keys:
            locked = set(
                LoginThrottle.objects.filter(login_key__in=keys, locked_until__gt=clock.now())
                .values_list("login_key", flat=True)
                .distinct()
            )
        for obj, key in pairs:
            obj.login_locked = key in locked


class JobSeekerListAdminMixin:
    """Columns `lock_state` and `last_mail_status`, and the lock and mail filters."""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(last_mail_status=_last_mail_status())

    def get_changelist(self, request, **kwargs):
        return _AccountChangeList

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), LockedFilter, MailFailedFilter]

    @admin.display(description=_("ロック"))
    def lock_state(self, obj):
        if obj.user_id is None:
            return "-"
        return gettext("ロック中") if getattr(obj, "login_locked", False) else gettext("なし")

    @admin.display(description=_("最後のメール"))
    def last_mail_status(self, obj):
        status = getattr(obj, "last_mail_status", None)
        if not status:
            return "-"
        return OutboundMail.Status(status).label
