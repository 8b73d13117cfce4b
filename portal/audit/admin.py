"""Audit events in the staff admin: read-only for everyone, superusers included."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.audit.models import AuditEvent
from portal.core.admin_filters import ControlCharacterSafeAdminMixin


@admin.register(AuditEvent)
class AuditEventAdmin(ControlCharacterSafeAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "target_type", "target_id", "actor_label", "ip")
    list_filter = ("action", "target_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("target_id", "actor_label", "action")
    search_help_text = _("対象（求職番号など）・操作者・操作の一部で検索できます。")
    fields = ("created_at", "action", "target_type", "target_id", "actor", "actor_label", "ip",
              "detail")  # fmt: skip
    readonly_fields = fields
    list_per_page = 100
    # The log grows by a row per changed job seeker: no second COUNT(*) for the total.
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
