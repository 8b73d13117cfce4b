"""Passkey pages and the two JSON endpoints that hand the browser a ceremony's options. The
browser's answer comes back as an ordinary form POST (a hidden `credential` field), so each
outcome is a redirect with a message like every other form of the service."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.forms import lock_message
from portal.accounts.services.login import login_complete
from portal.accounts.services.sessions import user_session_forget
from portal.accounts.views import mypage_view
from portal.core.clock import clock
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

STATE_SESSION_KEY = "passkeys_state"
REAUTH_SESSION_KEY = "passkeys_reauth_at"


def _options_response(request, purpose: Purpose, user=None) -> JsonResponse:
    if purpose == Purpose.REGISTER:
        options, state = services.passkey_registration_options(user)
    else:
        options, state = services.passkey_authentication_options(purpose, user)
    request.session[STATE_SESSION_KEY] = state  # a new ceremony replaces any pending one
    return JsonResponse({"publicKey": options})


def _pop_state(request) -> dict | None:
    return request.session.pop(STATE_SESSION_KEY, None)


def passkey_refusal_message(refusal: Refused) -> str:
    """The message for a refused passkey ceremony (docs/architecture.md, "Refusals"); the staff
    pages (portal/passkeys/staff_views.py) use it too."""
    if refusal.reason == Reason.PASSKEY_EXPIRED:
        return _("パスキーの確認に時間がかかりすぎました。もう一度お試しください。")
    if refusal.reason == Reason.PASSKEY_NOT_DISCOVERABLE:
        return _(
            "この認証器ではパスキー（ログインIDを入力せずに使える認証情報）を作れません"
            "でした。別の端末や認証器でお試しください。"
        )
    if refusal.reason == Reason.PASSKEY_LIMIT:
        return _(
            "パスキーは%(n)d個まで登録できます。使わないパスキーを削除してから追加してください。"
        ) % {"n": settings.PASSKEYS_PER_ACCOUNT}
    if refusal.reason == Reason.PASSKEY_DUPLICATE:
        return _("このパスキーはすでに登録されています。")
    # PASSKEY_FAILED: never tells an unknown credential apart from a bad signature.
    return _(
        "パスキーを確認できませんでした。もう一度お試しいただくか、"
        "IDとパスワードでログインしてください。"
    )


def passkey_login_refusal_message(refusal: Refused, *, staff: bool = False) -> str:
    if refusal.reason == Reason.LOCKED:
        return lock_message(refusal.locked_until, staff=staff)
    if refusal.reason == Reason.RATE_LIMITED:
        return _(
            "短時間に多くのログインがありました。しばらく時間をおいてから、もう一度お試しください。"
        )
    return passkey_refusal_message(refusal)


def _recent(request) -> bool:
    return selectors.passkey_recent_login(
        request.user, request.session.session_key, request.session.get(REAUTH_SESSION_KEY)
    )


def safe_next(request, default: str) -> str:
    """The login's posted `next` when it stays on this site, else `default`."""
    next_url = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return default


def _mark_recent(request) -> None:
    request.session[REAUTH_SESSION_KEY] = clock.now().timestamp()


# --- Login ------------------------------------------------------------------------------------


@never_cache
@require_POST
def login_options_view(request):
    return _options_response(request, Purpose.LOGIN)


@never_cache
@require_POST
def login_view(request):
    form = CredentialForm(request.POST)
    state = _pop_state(request)
    next_url = safe_next(request, reverse("accounts:mypage"))
    if not form.is_valid():
        messages.error(request, _("パスキーを確認できませんでした。もう一度お試しください。"))
        return _back_to_login()
    try:
        user = services.passkey_login_verify(
            state, form.cleaned_data["credential"], origin=request_origin(request)
        )
    except Refused as refusal:
        messages.error(request, passkey_login_refusal_message(refusal))
        return _back_to_login()
    login_complete(request, user, outcome=services.LOGIN_OUTCOME)
    messages.success(request, _("パスキーでログインしました。"))
    return redirect(next_url)


def _back_to_login():
    # The mark keeps passkeys.js from starting the autofill request again at once: a refused
    # passkey would otherwise be offered (and, by an authenticator that needs no pick, sent)
    # over and over. The button still works.
    return redirect(reverse("accounts:login") + "?passkey=refused")


# --- My Page ----------------------------------------------------------------------------------


def _list_context(request, **extra) -> dict:
    return {
        "passkeys": selectors.passkey_list(request.user),
        "recent": _recent(request),
        "minutes": settings.PASSKEY_RECENT_LOGIN_MINUTES,
        "limit": settings.PASSKEYS_PER_ACCOUNT,
        "add_form": PasskeyAddForm(),
        "reauth_form": ReauthPasswordForm(),
        **extra,
    }


@mypage_view
@require_http_methods(["GET"])
def passkeys_view(request):
    return render(request, "passkeys/list.html", _list_context(request))


@mypage_view
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
                user_session_forget(request.session.session_key)
                logout(request)
                messages.error(request, lock_message(refusal.locked_until))
                return redirect("accounts:login")
        else:
            _mark_recent(request)
            messages.success(request, _("本人確認ができました。パスキーを追加できます。"))
            return redirect("passkeys:list")
        form.add_error(
            "password",
            _("パスワードが正しくありません。いま使っているパスワードを入力してください。"),
        )
    return render(
        request,
        "passkeys/list.html",
        _list_context(request, reauth_form=form, has_errors=True),
    )


@mypage_view
@require_POST
def reauth_options_view(request):
    return _options_response(request, Purpose.REAUTH, request.user)


@mypage_view
@require_POST
def reauth_passkey_view(request):
    form = CredentialForm(request.POST)
    state = _pop_state(request)
    if not form.is_valid():
        messages.error(request, _("パスキーを確認できませんでした。もう一度お試しください。"))
        return redirect("passkeys:list")
    try:
        services.passkey_reauth_verify(
            request.user, state, form.cleaned_data["credential"], origin=request_origin(request)
        )
    except Refused as refusal:
        messages.error(request, passkey_refusal_message(refusal))
    else:
        _mark_recent(request)
        messages.success(request, _("本人確認ができました。パスキーを追加できます。"))
    return redirect("passkeys:list")


def _reauth_needed(request):
    messages.error(
        request,
        _(
            "パスキーを追加するには、本人確認のため、パスワードをもう一度入力してください"
            "（ログインから%(minutes)d分を過ぎています）。"
        )
        % {"minutes": settings.PASSKEY_RECENT_LOGIN_MINUTES},
    )
    return redirect("passkeys:list")


@mypage_view
@require_POST
def add_options_view(request):
    if not _recent(request):
        return JsonResponse({"reauth": True}, status=403)
    return _options_response(request, Purpose.REGISTER, request.user)


@mypage_view
@require_POST
def add_view(request):
    state = _pop_state(request)
    if not _recent(request):
        return _reauth_needed(request)
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
                request,
                _("パスキー「%(name)s」を追加しました。お知らせのメールを送信します。")
                % {"name": passkey.name},
            )
            return redirect("passkeys:list")
    return render(
        request, "passkeys/list.html", _list_context(request, add_form=form, has_errors=True)
    )


@mypage_view
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
        return redirect("passkeys:list")
    return render(
        request,
        "passkeys/rename.html",
        {"form": form, "passkey": passkey, "has_errors": bool(form.errors)},
    )


@mypage_view
@require_http_methods(["GET", "POST"])
def remove_view(request, passkey_id):
    passkey = selectors.passkey_get(request.user, passkey_id)
    if passkey is None:
        raise Http404
    if request.method == "POST":
        services.passkey_remove(request.user, passkey.pk, origin=request_origin(request))
        messages.success(
            request,
            _("パスキー「%(name)s」を削除しました。お知らせのメールを送信します。")
            % {"name": passkey.name},
        )
        return redirect("passkeys:list")
    return render(request, "passkeys/remove.html", {"passkey": passkey})
