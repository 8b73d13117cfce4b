"""Users (staff and job seekers' logins) in the staff admin. No password hash is ever shown:
the forms have no password field, a password is set on its own page (new password twice), and
every change by staff is an audit event."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.admin_actions import UserAccountAdminMixin
from portal.accounts.models import User
from portal.audit.services import audit_event_record
from portal.core.admin_filters import ControlCharacterSafeAdminMixin
from portal.core.origin import request_origin
from portal.core.text import normalize_email

_NOT_AUDITED = {"password1", "password2"}


class _EmailNormalizingMixin:
    def clean_email(self):
        # Stored normalised, as the login matches it (UserManager.get_by_natural_key).
        return normalize_email(self.cleaned_data.get("email"))


class StaffUserCreationForm(_EmailNormalizingMixin, BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")


class StaffUserChangeForm(_EmailNormalizingMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = (
            "email",
            "display_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )


def _audit(request, action, user_id, **detail):
    audit_event_record(
        action,
        actor=request.user,
        origin=request_origin(request),
        target_type="user",
        target_id=user_id,
        detail=detail,
    )


@admin.register(User)
class UserAdmin(ControlCharacterSafeAdminMixin, UserAccountAdminMixin, DjangoUserAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    list_display = ("email", "display_name", "is_staff", "is_superuser", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "display_name")
    ordering = ("email",)
    readonly_fields = ("password_status", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "display_name", "password_status")}),
        (
            _("権限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("日時"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "password1", "password2"),
            },
        ),
    )

    @admin.display(description=_("パスワード"))
    def password_status(self, obj):
        """Whether a password is set, and the page to set one; never the hash."""
        if obj is None or obj.pk is None:
            return "-"
        state = gettext("設定済み") if obj.has_usable_password() else gettext("未設定")
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        return format_html('{} <a href="{}">{}</a>', state, url, gettext("パスワードを設定する"))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        fields = sorted(set(form.changed_data) - _NOT_AUDITED)
        if change and not fields:
            return
        _audit(request, "user.updated" if change else "user.created", form.instance.pk,
               fields=fields)  # fmt: skip

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            _audit(request, "user.password_set", unquote(id))
        return response

    def delete_model(self, request, obj):
        _audit(request, "user.deleted", obj.pk, email=obj.email)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
