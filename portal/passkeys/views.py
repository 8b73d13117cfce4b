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

from portal.accounts import services as accounts
from portal.accounts.forms import lock_message
from portal.accounts.services import PasswordAttempt
from portal.accounts.views import mypage_view
from portal.core.client_ip import client_ip
from portal.core.clock import clock
from portal.passkeys import services
from portal.passkeys.forms import (
    CredentialForm,
    PasskeyAddForm,
    PasskeyRenameForm,
    ReauthPasswordForm,
)
from portal.passkeys.services import PasskeyLoginStatus, PasskeyRefused, Purpose

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


def _recent(request) -> bool:
    return services.passkey_recent_login(
        request.user, request.session.session_key, request.session.get(REAUTH_SESSION_KEY)
    )


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
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("accounts:mypage")
    if not form.is_valid():
        messages.error(request, _("パスキーを確認できませんでした。もう一度お試しください。"))
        return _back_to_login()
    result = services.passkey_login_verify(
        state, form.cleaned_data["credential"], ip=client_ip(request)
    )
    if result.status == PasskeyLoginStatus.OK:
        accounts.login_complete(request, result.user, outcome=services.LOGIN_OUTCOME)
        messages.success(request, _("パスキーでログインしました。"))
        return redirect(next_url)
    if result.status == PasskeyLoginStatus.LOCKED:
        messages.error(request, lock_message(result.locked_until))
    elif result.status == PasskeyLoginStatus.RATE_LIMITED:
        messages.error(
            request,
            _(
                "短時間に多くのログインがありました。しばらく時間をおいてから、"
                "もう一度お試しください。"
            ),
        )
    else:
        messages.error(request, result.message)
    return _back_to_login()


def _back_to_login():
    # The mark keeps passkeys.js from starting the autofill request again at once: a refused
    # passkey would otherwise be offered (and, by an authenticator that needs no pick, sent)
    # over and over. The button still works.
    return redirect(reverse("accounts:login") + "?passkey=refused")


# --- My Page ----------------------------------------------------------------------------------


def _list_context(request, **extra) -> dict:
    return {
        "passkeys": services.passkey_list(request.user),
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
        attempt = services.passkey_reauth_password(
            request.user,
            form.cleaned_data["password"],
            ip=client_ip(request),
            user_agent=accounts.request_user_agent(request),
        )
        if attempt == PasswordAttempt.RIGHT:
            _mark_recent(request)
            messages.success(request, _("本人確認ができました。パスキーを追加できます。"))
            return redirect("passkeys:list")
        if attempt == PasswordAttempt.LOCKED:
            lock = accounts.login_lock_status(request.user.email, client_ip(request))
            accounts.user_session_forget(request.session.session_key)
            logout(request)
            messages.error(request, lock_message(lock.locked_until))
            return redirect("accounts:login")
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
    try:
        if not form.is_valid():
            raise PasskeyRefused(_("パスキーを確認できませんでした。もう一度お試しください。"))
        services.passkey_reauth_verify(
            request.user, state, form.cleaned_data["credential"], ip=client_ip(request)
        )
    except PasskeyRefused as exc:
        messages.error(request, exc.message)
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
                ip=client_ip(request),
                user_agent=accounts.request_user_agent(request),
            )
        except PasskeyRefused as exc:
            form.add_error(None, exc.message)
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
    passkey = services.passkey_get(request.user, passkey_id)
    if passkey is None:
        raise Http404
    form = PasskeyRenameForm(
        request.POST if request.method == "POST" else None, initial={"name": passkey.name}
    )
    if form.is_valid():
        services.passkey_rename(
            request.user, passkey.pk, form.cleaned_data["name"], ip=client_ip(request)
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
    passkey = services.passkey_get(request.user, passkey_id)
    if passkey is None:
        raise Http404
    if request.method == "POST":
        services.passkey_remove(request.user, passkey.pk, ip=client_ip(request))
        messages.success(
            request,
            _("パスキー「%(name)s」を削除しました。お知らせのメールを送信します。")
            % {"name": passkey.name},
        )
        return redirect("passkeys:list")
    return render(request, "passkeys/remove.html", {"passkey": passkey})
