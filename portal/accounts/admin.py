"""Accounts in the staff admin: staff accounts (User, is_staff) and job seekers' accounts
(JobSeekerAccount) in separate lists. No password hash is ever shown: the forms have no password
field, a password is set on its own page (new password twice), and every change by staff is an
audit event.

No form here sets is_staff or changes a login e-mail: staff accounts are created as staff; a job
seeker's account gets no staff status, group or permission from any form; a job seeker's address
changes only by the counter's e-mail change (the job seeker's page), a staff member's own by
their one-time password (portal.accounts.staff_email)."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.admin_actions import UserAccountAdminMixin
from portal.accounts.models import JobSeekerAccount, User
from portal.audit.services import audit_event_record
from portal.core.admin_filters import ControlCharacterSafeAdminMixin
from portal.core.origin import request_origin
from portal.core.text import normalize_email
from portal.jobseekers.models import JobSeeker

_NOT_AUDITED = {"password1", "password2"}


_ACTIONS = {"add": _("追加"), "change": _("変更"), "delete": _("削除"), "view": _("閲覧")}


def permission_label(permission: Permission) -> str:
    """A permission as staff read it, in the current language. Django stores permission names
    once, in English ("Can change …"), when a model is first migrated; the label is made from
    the codename and the model's translated verbose name instead, so it is never stale."""
    model = permission.content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is None or action not in _ACTIONS or model_name != model._meta.model_name:
        return str(permission.name)
    return gettext("%(app)s｜%(model)sの%(action)s") % {
        "app": model._meta.app_config.verbose_name,
        "model": model._meta.verbose_name,
        "action": _ACTIONS[action],
    }


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return permission_label(obj)


def _permission_field(db_field, kwargs):
    kwargs["form_class"] = PermissionChoiceField
    kwargs["queryset"] = Permission.objects.select_related("content_type")
    kwargs["widget"] = forms.CheckboxSelectMultiple
    return db_field.formfield(**kwargs)


class StaffUserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")

    def clean_email(self):
        # Stored normalised, as the login matches it (UserManager.get_by_natural_key).
        email = normalize_email(self.cleaned_data.get("email"))
        if JobSeeker.objects.filter(email__lower=email).exists():
            # The register's address is the job seeker's future login: never a staff account.
            raise ValidationError(
                gettext("このメールアドレスは求職者の登録に使われています。"), code="jobseeker"
            )
        return email

    def save(self, commit=True):
        self.instance.is_staff = True  # the staff list's accounts are staff, always
        return super().save(commit)


class StaffUserChangeForm(forms.ModelForm):
    """No e-mail (a staff member changes their own with a one-time password) and no is_staff."""

    class Meta:
        model = User
        fields = ("display_name", "is_active", "is_superuser", "groups", "user_permissions")


class JobSeekerAccountForm(forms.ModelForm):
    """A job seeker's account: whether it may log in, nothing else."""

    class Meta:
        model = JobSeekerAccount
        fields = ("is_active",)


def _email_field(name: str, own: bool) -> str:
    return "own_email" if own and name == "email" else name


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
    """Staff accounts only (is_staff); a job seeker's account is not found here by any URL."""

    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    list_display = ("email", "display_name", "is_superuser", "is_active", "last_login")
    list_filter = ("is_superuser", "is_active", "groups")
    search_fields = ("email", "display_name")
    ordering = ("email",)
    # Check boxes rather than Django's two-list widget, whose search icons carry ARIA labels
    # that axe refuses, and whose JavaScript the CSP would have to allow.
    filter_horizontal = ()
    readonly_fields = ("email", "own_email", "password_status", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "display_name", "password_status")}),
        (
            _("権限"),
            {"fields": ("is_active", "is_superuser", "groups", "user_permissions")},
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

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_staff=True)

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "user_permissions":
            return _permission_field(db_field, kwargs)
        if db_field.name == "groups":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is None:  # the add form: the address is typed in
            return [f for f in fields if f not in ("email", "own_email")]
        return fields

    def get_fieldsets(self, request, obj=None):
        """The address is read-only; on one's own account it links to the page that changes
        it with a one-time password."""
        own = obj is not None and obj.pk == request.user.pk
        return [
            (name, {**opts, "fields": [_email_field(f, own) for f in opts.get("fields", ())]})
            for name, opts in super().get_fieldsets(request, obj)
        ]

    @admin.display(description=_("メールアドレス"))
    def own_email(self, obj):
        url = reverse("admin:staff_email_change")
        return format_html(
            '{} <a href="{}">{}</a>', obj.email, url, gettext("メールアドレスを変更する")
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


@admin.register(JobSeekerAccount)
class JobSeekerAccountAdmin(
    ControlCharacterSafeAdminMixin, UserAccountAdminMixin, admin.ModelAdmin
):
    """Job seekers' accounts (not is_staff), reached from the job seeker's page. Only whether
    the account may log in changes here; the address changes on the job seeker's page."""

    form = JobSeekerAccountForm
    list_display = ("email", "jobseeker_link", "is_active", "last_login")
    list_filter = ("is_active",)
    search_fields = ("email",)
    ordering = ("email",)
    readonly_fields = ("email", "jobseeker_link", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "jobseeker_link", "is_active")}),
        (_("日時"), {"fields": ("last_login", "date_joined")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_staff=False).select_related("jobseeker")

    def has_add_permission(self, request):
        return False  # an account is opened by the job seeker's own registration

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("求職者"))
    def jobseeker_link(self, obj):
        try:
            jobseeker = obj.jobseeker
        except JobSeeker.DoesNotExist:
            return gettext("（求職者の登録から削除済み）")
        url = reverse("admin:jobseekers_jobseeker_change", args=[jobseeker.pk])
        return format_html('<a href="{}">{} {}</a>', url, jobseeker.number, jobseeker.name)

    def save_model(self, request, obj, form, change):
        obj.is_staff = False  # whatever was posted: never staff from here
        obj.save(update_fields=["is_active"])

    def save_related(self, request, form, formsets, change):
        # No groups or permissions for a job seeker's account, whatever was posted.
        if form.changed_data:
            _audit(request, "user.updated", form.instance.pk, fields=sorted(form.changed_data))


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    filter_horizontal = ()  # check boxes, as in UserAdmin

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "permissions":
            return _permission_field(db_field, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)
