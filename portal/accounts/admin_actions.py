"""Staff admin pieces for accounts, kept apart from the admin modules so they can be mixed in:

- `UserAccountAdminMixin` for the User ModelAdmin: the unlock action and the lock status;
- the helpers the counter's job seeker admin (portal/counter/admin.py) shares with them."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.selectors import account_lock_until
from portal.accounts.services.lockout import login_lock_clear
from portal.core.origin import request_origin


def when(value) -> str:
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), gettext("Y年n月j日 H:i"))


def users_unlock(request, users) -> int:
    unlocked = 0
    for user in users:
        if login_lock_clear(
            user, actor=request.user, origin=request_origin(request), reason="staff"
        ):
            unlocked += 1
    return unlocked


def unlock_report(modeladmin, request, selected: int, unlocked: int) -> None:
    modeladmin.message_user(
        request,
        ngettext(
            "%(selected)d件を処理し、%(unlocked)d件のログインのロックを解除しました。",
            "%(selected)d件を処理し、%(unlocked)d件のログインのロックを解除しました。",
            selected,
        )
        % {"selected": selected, "unlocked": unlocked},
        messages.SUCCESS,
    )


@admin.action(description=_("ログインのロックを解除する"), permissions=["change"])
def unlock_users(modeladmin, request, queryset):
    users = list(queryset)
    unlock_report(modeladmin, request, len(users), users_unlock(request, users))


def action_add(modeladmin, request, actions, func):
    if modeladmin.has_change_permission(request):
        name = func.__name__
        actions[name] = (func, name, modeladmin._get_action_description(func, name))
    return actions


def with_fieldset(fieldsets, title, names):
    """The fieldsets with `names` moved into a last section of their own."""
    cleaned = []
    for name, options in fieldsets:
        fields = [f for f in options.get("fields", ()) if f not in names]
        if fields:
            cleaned.append((name, {**options, "fields": fields}))
    return [*cleaned, (title, {"fields": tuple(names)})]


class UserAccountAdminMixin:
    """The unlock action and the lock status for the User admin."""

    def get_actions(self, request):
        return action_add(self, request, super().get_actions(request), unlock_users)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and "login_lock" not in fields:
            fields.append("login_lock")
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return with_fieldset(fieldsets, _("ログイン"), ("login_lock",))

    @admin.display(description=_("ログインのロック"))
    def login_lock(self, obj):
        until = account_lock_until(obj)
        if until is None:
            return gettext("なし")
        return gettext("ロック中（%(until)s まで）") % {"until": when(until)}
