"""Clients and tokens in the staff admin. The model permissions belong to 管理者 only
(migration 0002). A new token is shown once, on the page that answers its creation, and is
never put into a message (messages live in the session, in the database)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from portal.api.models import SCOPES, ApiClient, ApiToken
from portal.api.tokens import api_token_create, api_token_revoke, parse_networks


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    readonly_fields = ("created_at",)


class ApiTokenCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("スコープ"), choices=SCOPES, widget=forms.CheckboxSelectMultiple
    )
    networks = forms.CharField(
        label=_("接続元ネットワーク（CIDR）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("1行に1つ（例：192.0.2.0/24）。空欄なら制限しません。"),
    )

    class Meta:
        model = ApiToken
        fields = ("client", "scopes", "networks", "expires_at")

    def clean_networks(self):
        try:
            return parse_networks(self.cleaned_data["networks"].split())
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("__str__", "client", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("client",)
    actions = ["revoke"]
    readonly_fields = (
        "client",
        "token_id",
        "scopes",
        "networks",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "last_used_ip",
    )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("client", "scopes", "networks", "expires_at")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        issued = api_token_create(
            form.cleaned_data["client"],
            scopes=form.cleaned_data["scopes"],
            networks=form.cleaned_data["networks"],
            expires_at=form.cleaned_data["expires_at"],
            actor=request.user,
        )
        request.api_token_issued = issued

    def save_related(self, request, form, formsets, change):
        pass  # no relations; the service wrote everything

    def log_addition(self, request, obj, message):
        pass  # the service wrote the audit event

    def response_add(self, request, obj, post_url_continue=None):
        response = TemplateResponse(
            request,
            "admin/api/token_issued.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("APIトークンを発行しました"),
                "token": request.api_token_issued.token,
                "plaintext": request.api_token_issued.plaintext,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: the audit trail names them

    @admin.action(description=_("選択したトークンを失効させる"), permissions=["revoke"])
    def revoke(self, request, queryset):
        count = sum(
            api_token_revoke(token, actor=request.user)
            for token in queryset.select_related("client")
        )
        self.message_user(
            request,
            _("%(count)d件のトークンを失効させました。") % {"count": count},
            messages.SUCCESS,
        )

    def has_revoke_permission(self, request):
        return request.user.has_perm("api.change_apitoken")
