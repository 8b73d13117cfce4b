"""Passkeys in the staff admin: read-only rows; removing goes through the service (audit, the
owner's notice mail), never Django's bulk delete."""

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.core.origin import request_origin
from portal.passkeys.models import Passkey
from portal.passkeys.services import passkey_remove


@admin.action(description=_("選択したパスキーを削除する"), permissions=["remove"])
def remove_passkeys(modeladmin, request, queryset):
    removed = 0
    for passkey in queryset.select_related("user"):
        removed += passkey_remove(
            passkey.user, passkey.pk, actor=request.user, origin=request_origin(request)
        )
    modeladmin.message_user(
        request,
        gettext("パスキーを%(n)d個削除しました。持ち主にお知らせのメールを送信します。")
        % {"n": removed},
        messages.SUCCESS,
    )


@admin.register(Passkey)
class PasskeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created_at", "last_used_at", "disabled_at")
    list_filter = ("disabled_at",)
    search_fields = ("user__email", "name")
    actions = [remove_passkeys]
    fields = (
        "user",
        "name",
        "created_at",
        "last_used_at",
        "disabled_at",
        "backed_up",
        "sign_count",
    )
    readonly_fields = fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # Django's delete would skip the audit and the notice: see the action

    def has_remove_permission(self, request):
        return request.user.has_perm("passkeys.delete_passkey")
