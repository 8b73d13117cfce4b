"""The counter register in the staff admin. Validation is `jobseeker_parse` and the register's
rules (`jobseeker_check`); saving and deleting go through the service, which writes the audit
events with the staff member and the client IP."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.core.admin_filters import ControlCharacterSafeAdminMixin
from portal.core.origin import request_origin
from portal.core.text import normalize_input
from portal.jobseekers.models import JobSeeker
from portal.jobseekers.parsing import jobseeker_parse
from portal.jobseekers.services import jobseeker_check, jobseeker_delete, jobseeker_save

EDITABLE = ("number", "name", "name_kana", "email", "birth_date", "office")


class JobSeekerAdminForm(forms.ModelForm):
    """Plain text fields: what staff type goes to `jobseeker_parse` as typed, so full-width
    input is normalised there rather than refused by a form field."""

    number = forms.CharField(label=_("求職番号"), help_text=_("例：13010-00000001"))
    name = forms.CharField(label=_("氏名"))
    name_kana = forms.CharField(label=_("氏名（カナ）"))
    email = forms.CharField(label=_("メールアドレス"), help_text=_("半角100文字以内"))
    birth_date = forms.CharField(
        label=_("生年月日"), help_text=_("西暦の年-月-日（例：1990-04-01）")
    )
    office = forms.CharField(label=_("ハローワーク"), required=False)

    class Meta:
        model = JobSeeker
        fields = list(EDITABLE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = None
        if self.instance.pk is not None:
            # The number is the key; an opened account's address changes by the counter's
            # e-mail change (its own page), not here. (The admin makes both read-only.)
            self.fields.pop("number", None)
            if self.instance.status != JobSeeker.Status.PENDING:
                self.fields.pop("email", None)
        for field in self.fields.values():
            field.widget.attrs.setdefault("autocomplete", "off")

    def clean(self):
        cleaned = super().clean()
        raw = {name: cleaned.get(name, getattr(self.instance, name, "")) for name in EDITABLE}
        try:
            record = jobseeker_parse(raw)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name not in self.errors:
                    self.add_error(name if name in self.fields else None, messages)
            return cleaned
        problem = jobseeker_check(record, creating=self.instance.pk is None)
        if problem:
            raise ValidationError(problem)
        self.record = record
        return cleaned

    def _post_clean(self):
        # The service has validated the values (the model's own checks would repeat it with
        # other messages); the instance is written by the service, not by the form.
        pass


class JobSeekerAdmin(ControlCharacterSafeAdminMixin, admin.ModelAdmin):
    # Registered by portal/counter/admin.py, with the counter's account pieces mixed in.
    form = JobSeekerAdminForm
    list_display = (
        "number",
        "name",
        "name_kana",
        "email",
        "birth_date",
        "office",
        "status",
        "updated_at",
    )
    list_filter = ("status", "office")
    search_fields = ("number", "name", "name_kana", "email")
    search_help_text = _("求職番号・氏名・カナ・メールアドレスの一部で検索できます。")
    ordering = ("number",)
    list_per_page = 50
    # The register can hold millions of rows: no second COUNT(*) for the unfiltered total.
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": EDITABLE}),
        (_("状態"), {"fields": ("status", "user", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = ["status", "user", "created_at", "updated_at"]
        if obj is not None:
            fields.insert(0, "number")
            if obj.status != JobSeeker.Status.PENDING:
                fields.insert(1, "email")
        return [*fields, *super().get_readonly_fields(request, obj)]

    def get_search_results(self, request, queryset, search_term):
        # Staff may type full-width digits or letters, or half-width kana.
        return super().get_search_results(request, queryset, normalize_input(search_term))

    def save_model(self, request, obj, form, change):
        saved = jobseeker_save(
            form.record, actor=request.user, origin=request_origin(request), source="admin"
        )
        for field in saved._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def delete_model(self, request, obj):
        jobseeker_delete(obj, actor=request.user, origin=request_origin(request))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            jobseeker_delete(obj, actor=request.user, origin=request_origin(request))
