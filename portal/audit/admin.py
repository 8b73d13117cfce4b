"""Audit events in the staff admin: read-only for everyone, superusers included. Actions are
shown in Japanese (`portal.audit.labels`), and an account's events name the job seeker's
number where the account belongs to one."""

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.utils.translation import gettext_lazy as _

from portal.audit.labels import ACTION_LABELS, action_label
from portal.audit.models import AuditEvent
from portal.core.admin_filters import ControlCharacterSafeAdminMixin


class ActionFilter(admin.SimpleListFilter):
    title = _("操作")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(code, label) for code, label in ACTION_LABELS.items()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action=self.value())
        return queryset


class ActorFilter(admin.SimpleListFilter):
    """Staff members who acted (not job seekers: there may be millions)."""

    title = _("操作者")
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        users = apps.get_model("accounts", "User").objects.filter(is_staff=True)
        return [(str(user.pk), str(user)) for user in users.order_by("email")[:200]]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(actor_id=int(self.value()))
        return queryset


class _AuditChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # Accounts' events are filed under the user id: one query finds their job seekers.
        user_ids = {e.target_id for e in self.result_list if e.target_type == "user"}
        numbers = {}
        if user_ids:
            jobseekers = apps.get_model("jobseekers", "JobSeeker").objects.filter(
                user_id__in=[int(pk) for pk in user_ids if pk.isdigit()]
            )
            numbers = {
                str(uid): number for uid, number in jobseekers.values_list("user_id", "number")
            }
        for event in self.result_list:
            event.jobseeker_number = numbers.get(event.target_id, "")


@admin.register(AuditEvent)
class AuditEventAdmin(ControlCharacterSafeAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action_name", "target", "actor_label", "ip")
    list_filter = (ActionFilter, ActorFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("target_id", "actor_label", "action")
    search_help_text = _("対象（求職番号など）・操作者・操作の一部で検索できます。")
    fields = ("created_at", "action_name", "target", "target_type", "target_id", "actor",
              "actor_label", "ip", "detail")  # fmt: skip
    readonly_fields = fields
    list_per_page = 100
    # The log grows by a row per changed job seeker: no second COUNT(*) for the total.
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return _AuditChangeList

    @admin.display(description=_("操作"), ordering="action")
    def action_name(self, obj):
        return action_label(obj.action)

    @admin.display(description=_("対象"))
    def target(self, obj):
        if obj.target_type == "jobseeker":
            return obj.target_id
        number = getattr(obj, "jobseeker_number", None)
        if number is None and obj.target_type == "user" and obj.target_id.isdigit():
            jobseeker = (
                apps.get_model("jobseekers", "JobSeeker")
                .objects.filter(user_id=int(obj.target_id))
                .values_list("number", flat=True)
                .first()
            )
            number = jobseeker or ""
        if number:
            return number
        return f"{obj.target_type}:{obj.target_id}" if obj.target_id else "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
