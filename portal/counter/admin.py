"""The counter's view of a job seeker in the staff admin: the list's lock and last-mail columns
and filters (portal/accounts/admin_list.py), the account's status and its recent mails'
delivery status (never a body or a key) on the change page, the unlock action and button, and
the e-mail change (a form at <object>/change-email/, linked from the change page). The JobSeeker
admin is registered here, on top of the register's own admin (portal/jobseekers/admin.py), so
that jobseekers imports neither accounts nor counter (docs/architecture.md, "Layers")."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from portal.accounts.admin_actions import (
    action_add,
    unlock_report,
    users_unlock,
    when,
    with_fieldset,
)
from portal.accounts.admin_list import JobSeekerListAdminMixin
from portal.accounts.selectors import (
    account_status_get,
    mails_recent_list,
)
from portal.accounts.services.lockout import login_lock_clear
from portal.core.origin import request_origin
from portal.counter.services import jobseeker_change_email
from portal.jobseekers.admin import JobSeekerAdmin
from portal.jobseekers.models import JobSeeker

ACCOUNT_FIELDS = ("account_status", "account_link", "recent_mails", "email_change_link")


@admin.action(description=_("ログインのロックを解除する"), permissions=["change"])
def unlock_jobseekers(modeladmin, request, queryset):
    jobseekers = list(queryset.select_related("user"))
    users = [js.user for js in jobseekers if js.user is not None]
    unlock_report(modeladmin, request, len(jobseekers), users_unlock(request, users))


class EmailChangeForm(forms.Form):
    new_email = forms.CharField(label=_("新しいメールアドレス"), max_length=254)
    new_email_confirm = forms.CharField(label=_("新しいメールアドレス（確認用）"), max_length=254)
    remove_passkeys = forms.BooleanField(
        label=_("登録済みのパスキーをすべて削除する（推奨）"),
        required=False,
        initial=True,
        help_text=_(
            "パスキーは前のアドレスの持ち主が作ったものかもしれません。本人と確認できた場合に限り、"
            "チェックを外して残せます。"
        ),
    )

    def clean(self):
        cleaned = super().clean()
        first = (cleaned.get("new_email") or "").strip().lower()
        second = (cleaned.get("new_email_confirm") or "").strip().lower()
        if first and second and first != second:
            self.add_error(
                "new_email_confirm",
                gettext("確認用のメールアドレスが一致しません。同じアドレスを入力してください。"),
            )
        return cleaned


class JobSeekerAccountAdminMixin:
    """Account status, recent mails, unlock and the counter's e-mail change for JobSeeker."""

    def get_actions(self, request):
        return action_add(self, request, super().get_actions(request), unlock_jobseekers)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += [f for f in ACCOUNT_FIELDS if f not in fields]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return with_fieldset(fieldsets, _("マイページのアカウント"), ACCOUNT_FIELDS)

    @admin.display(description=_("アカウントの状態"))
    def account_status(self, obj):
        status = account_status_get(obj)
        if not status.has_account:
            return gettext("マイページ未開設（パスワード未登録）")
        rows = [
            (gettext("求職者の状態"), obj.get_status_display()),
            (gettext("アカウント"), gettext("有効") if status.is_active else gettext("無効")),
            (
                gettext("ログインのロック"),
                gettext("ロック中（%(until)s まで）") % {"until": when(status.locked_until)}
                if status.locked_until
                else gettext("なし"),
            ),
            (gettext("アカウント全体の連続失敗回数"), str(status.failures)),
            (gettext("最終ログイン"), when(status.last_login)),
            (gettext("ログイン中のセッション"), str(status.sessions)),
            (gettext("ワンタイムパスワード省略ブラウザ"), str(status.trusted_browsers)),
        ]
        # Passkeys live in portal.passkeys; read through the relation, managed in its admin.
        passkeys = obj.user.passkeys.count()
        rows.append(
            (
                gettext("パスキー"),
                format_html(
                    '{} <a href="{}?user__id__exact={}">{}</a>',
                    gettext("%(n)d個") % {"n": passkeys},
                    reverse("admin:passkeys_passkey_changelist"),
                    obj.user_id,
                    gettext("一覧・削除"),
                )
                if passkeys
                else gettext("なし"),
            )
        )
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))

    @admin.display(description=_("アカウントの画面"))
    def account_link(self, obj):
        """The job seeker's account is reached from here (it is not among staff accounts)."""
        if obj.user_id is None:
            return "-"
        url = reverse("admin:accounts_jobseekeraccount_change", args=[quote(obj.user_id)])
        return format_html('<a href="{}">{}</a>', url, gettext("求職者のアカウントを開く"))

    @admin.display(description=_("最近のメールの送信状況"))
    def recent_mails(self, obj):
        mails = mails_recent_list(obj.email)
        if not mails:
            return gettext("このアドレスへのメールはありません。")
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            gettext("作成日時"),
            gettext("件名"),
            gettext("言語"),
            gettext("状態"),
            gettext("送信日時"),
            gettext("試行回数"),
            gettext("直近のエラー"),
        )
        body = format_html_join(
            "",
            '<tr><td>{}</td><td lang="{}">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td></tr>",
            (
                (
                    when(m.created_at),
                    m.language,
                    m.subject,
                    m.language,
                    m.get_status_display(),
                    when(m.sent_at),
                    m.attempts,
                    m.last_error or "-",
                )
                for m in mails
            ),
        )
        return format_html("<table><thead>{}</thead><tbody>{}</tbody></table>", head, body)

    @admin.display(description=_("メールアドレスの変更"))
    def email_change_link(self, obj):
        info = self.opts.app_label, self.opts.model_name
        url = reverse(f"admin:{info[0]}_{info[1]}_change_email", args=[quote(obj.pk)])
        return format_html('<a href="{}">{}</a>', url, gettext("窓口でメールアドレスを変更する"))

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/unlock/",
                self.admin_site.admin_view(require_POST(self.unlock_view)),
                name="{}_{}_unlock".format(*info),
            ),
            path(
                "<path:object_id>/change-email/",
                self.admin_site.admin_view(self.change_email_view),
                name="{}_{}_change_email".format(*info),
            ),
            *super().get_urls(),
        ]

    def unlock_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        if obj.user is None:
            self.message_user(
                request, gettext("マイページが未開設のため、ロックはありません。"), messages.INFO
            )
        else:
            locks = login_lock_clear(
                obj.user, actor=request.user, origin=request_origin(request), reason="staff"
            )
            if locks:
                self.message_user(request, gettext("ログインのロックを解除しました。"),
                                  messages.SUCCESS)  # fmt: skip
            else:
                self.message_user(
                    request,
                    gettext("ロックはかかっていませんでした（失敗回数は0に戻しました）。"),
                    messages.INFO,
                )
        return HttpResponseRedirect(
            reverse("admin:jobseekers_jobseeker_change", args=[quote(obj.pk)])
        )

    def change_email_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        form = EmailChangeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            remove_passkeys = form.cleaned_data["remove_passkeys"]
            passkeys = obj.user.passkeys.count() if obj.user_id and remove_passkeys else 0
            try:
                jobseeker_change_email(
                    obj,
                    form.cleaned_data["new_email"],
                    actor=request.user,
                    origin=request_origin(request),
                    remove_passkeys=remove_passkeys,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("new_email", message)
            else:
                self.message_user(
                    request,
                    gettext(
                        "メールアドレスを変更しました。手続き中のパスワード登録・再設定は終了し、"
                        "ログイン中のセッションとワンタイムパスワードの省略は解除しました。"
                        "新旧のアドレスにお知らせのメールを送信します。"
                    )
                    + (
                        gettext("登録済みのパスキー（%(n)d個）はすべて削除しました。")
                        % {"n": passkeys}
                        if remove_passkeys
                        else gettext("登録済みのパスキーは残しました。")
                    ),
                    messages.SUCCESS,
                )
                info = self.opts.app_label, self.opts.model_name
                return HttpResponseRedirect(
                    reverse("admin:{}_{}_change".format(*info), args=[quote(obj.pk)])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("メールアドレスの変更"),
            "opts": self.opts,
            "original": obj,
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/counter/change_email.html", context)


@admin.register(JobSeeker)
class CounterJobSeekerAdmin(JobSeekerListAdminMixin, JobSeekerAccountAdminMixin, JobSeekerAdmin):
    # Number, name and kana share a column so that status, lock and the last mail fit at
    # 1280×800 beside the admin's two side bars.
    list_display = (
        "seeker",
        "email",
        "status",
        "lock_state",
        "last_mail_status",
        "updated",
    )
