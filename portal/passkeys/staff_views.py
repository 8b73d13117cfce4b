"""Staff passkeys: a staff member's own passkeys (/staff/passkeys/) and the passkey login on the
staff admin's login page, in place of the password and the mailed one-time password."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import logout
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.forms import lock_message
from portal.core.origin import request_origin
from portal.core.refusal import Reason, Refused
from portal.passkeys import selectors, services
from portal.passkeys.forms import (
    CredentialForm,
    PasskeyAddForm,
    PasskeyRenameForm,
    ReauthPasswordForm,
)
from portal.passkeys.services import Purpose
from portal.passkeys.views import (
    REAUTH_SESSION_KEY,
    _mark_recent,
    _options_response,
    _pop_state,
    passkey_login_refusal_message,
    passkey_refusal_message,
    safe_next,
)


def staff_view(view):
    # The admin site's own gate: a staff session that has passed the whole staff login (the
    # second factor included, portal.accounts.sites), never cached.
    return admin.site.admin_view(view)


def _recent(request) -> bool:
    return selectors.passkey_recent_login(
        request.user, None, request.session.get(REAUTH_SESSION_KEY)
    )


def _render_list(request, **extra):
    context = {
        **admin.site.each_context(request),
        "title": _("パスキーの管理"),
        "passkeys": selectors.passkey_list(request.user),
        "recent": _recent(request),
        "minutes": settings.PASSKEY_RECENT_LOGIN_MINUTES,
        "limit": settings.PASSKEYS_PER_ACCOUNT,
        "add_form": PasskeyAddForm(),
        "reauth_form": ReauthPasswordForm(),
        **extra,
    }
    return render(request, "passkeys/staff_list.html", context)


@staff_view
@require_http_methods(["GET"])
def list_view(request):
    return _render_list(request)


@staff_view
@sensitive_post_parameters("password")
@require_POST
def reauth_password_view(request):
    form = ReauthPasswordForm(request.POST)
    if form.is_valid():
        try:
            services.passkey_reauth_password(
                request.user, form.cleaned_data["password"], origin=request_origin(request)
            )
        except Refused as refusal:
            if refusal.reason == Reason.LOCKED:
                logout(request)
                messages.error(request, lock_message(refusal.locked_until, staff=True))
                return redirect("admin:login")
        else:
            _mark_recent(request)
            messages.success(request, _("本人確認ができました。パスキーを追加できます。"))
            return redirect("staff_passkeys:list")
        form.add_error("password", _("パスワードが正しくありません。"))
    return _render_list(request, reauth_form=form)


@staff_view
@require_POST
def add_options_view(request):
    if not _recent(request):
        return JsonResponse({"reauth": True}, status=403)
    return _options_response(request, Purpose.REGISTER, request.user)


@staff_view
@require_POST
def add_view(request):
    state = _pop_state(request)
    if not _recent(request):
        messages.error(request, _("パスキーを追加するには、パスワードをもう一度入力してください。"))
        return redirect("staff_passkeys:list")
    form = PasskeyAddForm(request.POST)
    if form.is_valid():
        try:
            passkey = services.passkey_register(
                request.user,
                state,
                form.cleaned_data["credential"],
                name=form.cleaned_data["name"],
                origin=request_origin(request),
            )
        except Refused as refusal:
            form.add_error(None, passkey_refusal_message(refusal))
        else:
            messages.success(
                request, _("パスキー「%(name)s」を追加しました。") % {"name": passkey.name}
            )
            return redirect("staff_passkeys:list")
    return _render_list(request, add_form=form)


@staff_view
@require_http_methods(["GET", "POST"])
def rename_view(request, passkey_id):
    passkey = selectors.passkey_get(request.user, passkey_id)
    if passkey is None:
        raise Http404
    form = PasskeyRenameForm(
        request.POST if request.method == "POST" else None, initial={"name": passkey.name}
    )
    if form.is_valid():
        services.passkey_rename(
            request.user, passkey.pk, form.cleaned_data["name"], origin=request_origin(request)
        )
        messages.success(request, _("パスキーの名前を変更しました。"))
        return redirect("staff_passkeys:list")
    context = {
        **admin.site.each_context(request),
        "title": _("パスキーの名前の変更"),
        "form": form,
        "passkey": passkey,
    }
    return render(request, "passkeys/staff_rename.html", context)


@staff_view
@require_POST
def remove_view(request, passkey_id):
    passkey = selectors.passkey_get(request.user, passkey_id)
    if passkey is None:
        raise Http404
    services.passkey_remove(request.user, passkey.pk, origin=request_origin(request))
    messages.success(request, _("パスキー「%(name)s」を削除しました。") % {"name": passkey.name})
    return redirect("staff_passkeys:list")


# --- The staff login ----------------------------------------------------------------------------


@never_cache
@require_POST
def login_options_view(request):
    return _options_response(request, Purpose.STAFF_LOGIN)


@never_cache
@require_POST
def login_view(request):
    form = CredentialForm(request.POST)
    state = _pop_state(request)
    next_url = safe_next(request, reverse("admin:index"))
    if not form.is_valid():
        messages.error(request, _("パスキーを確認できませんでした。もう一度お試しください。"))
        return redirect(reverse("admin:login") + "?passkey=refused")
    try:
        user = services.passkey_staff_login_verify(
            state, form.cleaned_data["credential"], origin=request_origin(request)
        )
    except Refused as refusal:
        messages.error(request, passkey_login_refusal_message(refusal, staff=True))
        return redirect(reverse("admin:login") + "?passkey=refused")
    services.passkey_staff_login(request, user)
    _mark_recent(request)  # a passkey login is recent enough to add another
    return redirect(next_url)
