"""The counter register in the staff admin. Validation is `jobseeker_parse` and the register's
rules (`jobseeker_check`); saving and deleting go through the service, which writes the audit
events with the staff member and the client IP."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.audit.labels import action_label
from portal.audit.models import AuditEvent
from portal.audit.services import audit_event_record
from portal.core.admin_filters import ControlCharacterSafeAdminMixin
from portal.core.origin import request_origin
from portal.core.site import site_text
from portal.core.text import katakana_search_term, normalize_input
from portal.jobseekers.models import JobSeeker, JobSeekerUpload
from portal.jobseekers.parsing import jobseeker_parse
from portal.jobseekers.services import jobseeker_check, jobseeker_delete, jobseeker_save
from portal.jobseekers.uploads import (
    jobseeker_upload_create,
    jobseeker_upload_rejections_csv,
)

EDITABLE = ("number", "name", "name_kana", "email", "birth_date", "office", "language")


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
    # Not required: a form without it keeps the job seeker's language (a new one gets the default).
    language = forms.ChoiceField(
        label=_("希望する言語"),
        choices=settings.LANGUAGES,
        required=False,
        help_text=_("この求職者に送るメールの言語です（窓口の操作によるメールを含む）。"),
    )

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


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSVファイル"),
        help_text=_("UTF-8（BOMあり・なし）または Shift_JIS（CP932）のCSVファイル"),
    )


OFFICES_CACHE_KEY = "jobseekers:admin:offices"
OFFICES_CACHE_SECONDS = 300


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL the unfiltered register is counted from the planner's statistics
    (pg_class.reltuples) rather than by COUNT(*) over every row; a filtered list, or another
    database, is counted exactly."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row is not None and row[0] >= ESTIMATE_ABOVE_ROWS:
                return row[0]
        return super().count


# Below this many rows an exact count is cheap, and the estimate may be stale or unknown (-1).
ESTIMATE_ABOVE_ROWS = 100_000


class OfficeFilter(admin.SimpleListFilter):
    """The offices in the register; a job seeker without one is listed as 「未設定」 (Django's
    own filter would show an empty link)."""

    title = _("ハローワーク")
    parameter_name = "office"
    NONE = "-"

    def lookups(self, request, model_admin):
        # DISTINCT reads the whole register: the list of offices is kept in the cache for a
        # while rather than computed for every page of the list.
        offices = cache.get_or_set(
            OFFICES_CACHE_KEY,
            lambda: list(
                JobSeeker.objects.order_by("office").values_list("office", flat=True).distinct()
            ),
            OFFICES_CACHE_SECONDS,
        )
        return [(office or self.NONE, office or _("未設定")) for office in offices]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(office="" if self.value() == self.NONE else self.value())


REJECTIONS_PER_PAGE = 500
UPLOAD_REFRESH_SECONDS = 3


class JobSeekerAdmin(ControlCharacterSafeAdminMixin, admin.ModelAdmin):
    # Registered by portal/counter/admin.py, with the counter's account pieces mixed in (the
    # lock and last-mail columns, the unlock, the e-mail change), so that this app imports
    # nothing from accounts (docs/architecture.md, "Layers").
    form = JobSeekerAdminForm
    list_display = ("seeker", "email", "status", "updated")
    list_filter = ("status", "language", OfficeFilter)
    search_fields = ("number", "name", "name_kana", "email")
    search_help_text = _("求職番号・氏名・カナ・メールアドレスの一部で検索できます。")
    ordering = ("number",)
    list_per_page = 50
    paginator = EstimatedCountPaginator
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

    @admin.display(description=_("求職番号・氏名（カナ）"), ordering="number")
    def seeker(self, obj):
        return format_html(
            '<span class="seeker-number">{}</span><br>{}<br><span class="seeker-kana">{}</span>',
            obj.number,
            obj.name,
            obj.name_kana,
        )

    @admin.display(description=_("更新日時"), ordering="updated_at")
    def updated(self, obj):
        # Date and time on two lines: Django's own column would not wrap.
        local = timezone.localtime(obj.updated_at)
        return format_html("{}<br>{}", date_format(local, "Y-m-d"), date_format(local, "H:i"))

    def get_search_results(self, request, queryset, search_term):
        # Staff may type full-width digits or letters, half-width kana, or hiragana for the
        # katakana name (やまだ finds ヤマダ).
        term = normalize_input(search_term)
        found, duplicates = super().get_search_results(request, queryset, term)
        kana = katakana_search_term(term)
        if kana != term:
            found |= queryset.filter(name_kana__contains=kana)
        return found, duplicates

    # --- The job seeker's page: opening it is audited; history; the printed guide ---

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and self.has_view_or_change_permission(request, obj):
                audit_event_record(
                    "jobseeker.viewed",
                    actor=request.user,
                    target_type="jobseeker",
                    target_id=obj.number,
                    origin=request_origin(request),
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="{}_{}_upload".format(*info)),
            path(
                "upload/<int:upload_id>/",
                view(self.upload_result_view),
                name="{}_{}_upload_result".format(*info),
            ),
            path(
                "upload/<int:upload_id>/rejected.csv",
                view(self.upload_rejections_view),
                name="{}_{}_upload_rejections".format(*info),
            ),
            path(
                "<path:object_id>/guide/",
                view(self.guide_view),
                name="{}_{}_guide".format(*info),
            ),
            *super().get_urls(),
        ]

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "title": title, "opts": self.opts,
                **extra}  # fmt: skip

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                upload = jobseeker_upload_create(
                    form.cleaned_data["file"], actor=request.user, origin=request_origin(request)
                )
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                return HttpResponseRedirect(
                    reverse("admin:jobseekers_jobseeker_upload_result", args=[upload.pk])
                )
        uploads = JobSeekerUpload.objects.select_related("uploaded_by")[:20]
        context = self._context(
            request,
            gettext("CSVファイルから取り込む"),
            form=form,
            uploads=uploads,
            max_mb=settings.CSV_UPLOAD_MAX_MB,
        )
        return TemplateResponse(request, "admin/jobseekers/jobseeker/upload.html", context)

    def upload_result_view(self, request, upload_id):
        if not self.has_add_permission(request):
            raise PermissionDenied
        upload = get_object_or_404(JobSeekerUpload, pk=upload_id)
        page = Paginator(upload.rejections.order_by("line", "id"), REJECTIONS_PER_PAGE).get_page(
            request.GET.get("p")
        )
        refresh = not upload.finished and request.GET.get("refresh") != "off"
        context = self._context(
            request, gettext("CSV取込みの結果"), upload=upload, page=page, refresh=refresh
        )
        response = TemplateResponse(
            request, "admin/jobseekers/jobseeker/upload_result.html", context
        )
        if refresh:
            # The page reloads itself while the import runs, without JavaScript; the header
            # rather than <meta> keeps it out of the document, and the page offers to stop it.
            response["Refresh"] = str(UPLOAD_REFRESH_SECONDS)
        return response

    def upload_rejections_view(self, request, upload_id):
        if not self.has_add_permission(request):
            raise PermissionDenied
        upload = get_object_or_404(JobSeekerUpload, pk=upload_id)
        response = StreamingHttpResponse(
            jobseeker_upload_rejections_csv(upload), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="rejected-{upload.pk}.csv"'
        return response

    def _object_or_404(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        return obj

    def guide_view(self, request, object_id):
        obj = self._object_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        audit_event_record(
            "jobseeker.guide_printed",
            actor=request.user,
            target_type="jobseeker",
            target_id=obj.number,
            origin=request_origin(request),
        )
        # The sheet is the job seeker's: in their own language, never the clerk's.
        language = obj.language or settings.LANGUAGE_CODE
        context = {
            "jobseeker": obj,
            "service_url": settings.SERVICE_URL or request.build_absolute_uri("/"),
            "sender": settings.MAIL_SENDER,
            "site_name": site_text("SITE_NAME", language),
            "back_url": reverse("admin:jobseekers_jobseeker_change", args=[quote(obj.pk)]),
        }
        with translation.override(language):
            return TemplateResponse(request, "jobseekers/guide.html", context).render()

    def history_view(self, request, object_id, extra_context=None):
        """履歴: this person's audit events (the register's, and the account's), not Django's
        LogEntry, which the service never writes."""
        obj = self._object_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        where = Q(target_type="jobseeker", target_id=obj.number)
        if obj.user_id is not None:
            where |= Q(target_type="user", target_id=str(obj.user_id))
        events = AuditEvent.objects.filter(where).order_by("-created_at", "-id")
        page = Paginator(events, 100).get_page(request.GET.get("p"))
        for event in page.object_list:
            event.label = action_label(event.action)
        context = self._context(
            request,
            gettext("%(number)s %(name)s さんの履歴") % {"number": obj.number, "name": obj.name},
            original=obj,
            page=page,
        )
        return TemplateResponse(request, "admin/jobseekers/jobseeker/history.html", context)

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
