"""Login, the one-time password step, logout and the My Page. Views are thin: they validate a
form, call one service and redirect."""

import datetime as dt
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from portal.accounts.forms import (
    LoginForm,
    OtpForm,
    PasswordChangeForm,
    last_try_message,
    lock_message,
    login_failed_message,
    wrong_current_password_message,
)
from portal.accounts.lockout_warning import login_tries_left
from portal.accounts.password_rules import password_rules_list
from portal.accounts.selectors import (
    jobseeker_of,
    login_challenge_get,
    login_history_list,
    mypage_allowed,
    trusted_browser_list,
)
from portal.accounts.services.login import login_complete, login_start
from portal.accounts.services.otp import login_challenge_resend, login_challenge_verify
from portal.accounts.services.password import (
    account_current_password_verify,
    account_password_change,
)
from portal.accounts.services.sessions import user_session_forget, user_session_rekey
from portal.accounts.services.trusted_browsers import (
    trusted_browser_create,
    trusted_browser_id,
    trusted_browser_revoke,
    trusted_browser_revoke_all,
)
from portal.accounts.user_agents import browser_label
from portal.core.form_state import form_state_keep, form_state_restore
from portal.core.origin import request_origin
from portal.core.refusal import Reason, Refused
from portal.core.site import site_text
from portal.jobseekers.language import jobseeker_language_set

# The pending one-time-password step, kept in the (still anonymous) session.
OTP_SESSION_KEY = "accounts_otp"


def _next_url(request, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("accounts:mypage")


def _trusted_cookie(request) -> str | None:
    return request.COOKIES.get(settings.TRUSTED_BROWSER_COOKIE_NAME)


def _delete_trusted_cookie(response) -> None:
    response.delete_cookie(settings.TRUSTED_BROWSER_COOKIE_NAME, samesite="Lax")


def mypage_view(view):
    """A My Page view: logged in as an active job seeker, never cached."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
        if not mypage_allowed(request.user):
            user_session_forget(request.session.session_key)
            logout(request)
            messages.error(
                request,
                _("このアカウントではマイページを利用できません。%(contact)s")
                % {"contact": site_text("OFFICE_CONTACT")},
            )
            return redirect("accounts:login")
        request.jobseeker = jobseeker_of(request.user)
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


# --- Login -----------------------------------------------------------------------------------


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.user.is_authenticated and mypage_allowed(request.user):
        return redirect("accounts:mypage")
    if request.method == "GET":
        form = LoginForm()
        state = form_state_restore(request, form)
        locked_until = state.get("locked_until")
        locked_until = dt.datetime.fromisoformat(locked_until) if locked_until else None
        return render(
            request,
            "accounts/login.html",
            {
                "form": form,
                "has_errors": bool(form.errors) or locked_until is not None,
                "next": _next_url(request, state.get("next") or request.GET.get("next")),
                "lock_text": lock_message(locked_until) if locked_until else "",
            },
        )
    next_url = _next_url(request, request.POST.get("next") or request.GET.get("next"))
    form = LoginForm(request.POST)
    extra = {"next": next_url}
    if form.is_valid():
        origin = request_origin(request)
        try:
            started = login_start(
                form.cleaned_data["login_id"],
                form.cleaned_data["password"],
                origin=origin,
                trusted_cookie=_trusted_cookie(request),
            )
        except Refused as refusal:
            if refusal.reason == Reason.LOCKED:
                extra["locked_until"] = refusal.locked_until.isoformat()
            else:
                form.add_error(None, _login_refusal_message(refusal))
                if refusal.reason == Reason.LOGIN_FAILED and (
                    login_tries_left(form.cleaned_data["login_id"], origin) == 1
                ):
                    form.add_error(None, last_try_message())
        else:
            if started.challenge is None:
                request.session.pop(OTP_SESSION_KEY, None)
                login_complete(request, started.user)
                return redirect(next_url)
            request.session[OTP_SESSION_KEY] = {
                "challenge": str(started.challenge.pk),
                "next": next_url,
            }
            return redirect("accounts:otp")
    return form_state_keep(request, form, keep=("login_id",), extra=extra)


def _login_refusal_message(refusal: Refused) -> str:
    """The login page's message for the reasons login_start refuses for (LOCKED is shown by
    the page's own lock block)."""
    if refusal.reason == Reason.RATE_LIMITED:
        return _(
            "短時間に多くのログインがありました。しばらく時間をおいてから、もう一度お試しください。"
        )
    if refusal.reason == Reason.OTP_UNAVAILABLE:
        return _otp_cap_message()
    return login_failed_message()  # LOGIN_FAILED


def _otp_cap_message() -> str:
    return _(
        "ワンタイムパスワードのメールの送信回数が上限に達したため、いまは送信できません。"
        "しばらく時間をおいてから（1時間ほど）、もう一度お試しください。お急ぎの場合は、"
        "%(contact)s"
    ) % {"contact": site_text("OFFICE_CONTACT")}


def _restart_login(request, message: str, *, level=messages.ERROR):
    request.session.pop(OTP_SESSION_KEY, None)
    messages.add_message(request, level, message)
    return redirect("accounts:login")


def _pending_challenge(request):
    pending = request.session.get(OTP_SESSION_KEY) or {}
    return pending, login_challenge_get(pending.get("challenge"))


def _otp_refusal(request, form, refusal: Refused):
    """Maps a refused one-time password: a message on the form (OTP_WRONG, OTP_EXPIRED), or a
    redirect to the login with a message (LOCKED, OTP_EXHAUSTED, CHALLENGE_ENDED)."""
    if refusal.reason == Reason.OTP_WRONG:
        form.add_error(
            "code",
            _(
                "ワンタイムパスワードが正しくありません。最新のメールに記載された数字を"
                "確認して入力してください（あと%(n)d回間違えると、ログインをやり直して"
                "いただきます）。"
            )
            % {"n": refusal.tries_left},
        )
        return None
    if refusal.reason == Reason.OTP_EXPIRED:
        form.add_error(
            "code",
            _(
                "ワンタイムパスワードの有効期限（送信から%(minutes)d分）が切れています。"
                "「ワンタイムパスワードを再送信する」を押して、新しいワンタイムパスワードを"
                "受け取ってください。"
            )
            % {"minutes": settings.LOGIN_OTP_LIFETIME_MINUTES},
        )
        return None
    if refusal.reason == Reason.LOCKED:
        return _restart_login(request, lock_message(refusal.locked_until))
    if refusal.reason == Reason.OTP_EXHAUSTED:
        return _restart_login(
            request,
            _(
                "ワンタイムパスワードを%(n)d回間違えたため、このログインは無効になりました。"
                "IDとパスワードからもう一度ログインしてください。"
            )
            % {"n": settings.LOGIN_OTP_MAX_WRONG},
        )
    return _restart_login(  # CHALLENGE_ENDED
        request,
        _("このログインは無効になりました。IDとパスワードからもう一度ログインしてください。"),
    )


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def otp_view(request):
    pending, challenge = _pending_challenge(request)
    if challenge is None:
        return _restart_login(
            request,
            _(
                "ワンタイムパスワードの入力期間が終わりました。IDとパスワードからもう一度ログインしてください。"
            ),
            level=messages.INFO,
        )
    form = OtpForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        form_state_restore(request, form)
    if form.is_valid():
        origin = request_origin(request)
        try:
            user = login_challenge_verify(challenge.pk, form.cleaned_data["code"], origin=origin)
        except Refused as refusal:
            restart = _otp_refusal(request, form, refusal)
            if restart is not None:
                return restart
        else:
            request.session.pop(OTP_SESSION_KEY, None)
            login_complete(request, user)
            response = redirect(_next_url(request, pending.get("next")))
            if form.cleaned_data["remember"]:
                _browser, value = trusted_browser_create(user, origin=origin)
                response.set_cookie(
                    settings.TRUSTED_BROWSER_COOKIE_NAME,
                    value,
                    max_age=settings.TRUSTED_BROWSER_DAYS * 24 * 3600,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
            return response
    if request.method == "POST":  # nothing typed is kept: the code is a secret
        return form_state_keep(request, form)
    return render(
        request,
        "accounts/otp.html",
        {
            "form": form,
            "has_errors": bool(form.errors),
            "email": challenge.user.email,
            "minutes": settings.LOGIN_OTP_LIFETIME_MINUTES,
            "cooldown": settings.LOGIN_OTP_RESEND_COOLDOWN_SECONDS,
            "trusted_days": settings.TRUSTED_BROWSER_DAYS,
        },
    )


@never_cache
@require_POST
def otp_resend_view(request):
    _pending, challenge = _pending_challenge(request)
    if challenge is None:
        return _restart_login(
            request,
            _(
                "ワンタイムパスワードの入力期間が終わりました。IDとパスワードからもう一度ログインしてください。"
            ),
            level=messages.INFO,
        )
    try:
        login_challenge_resend(challenge.pk)
    except Refused as refusal:
        if refusal.reason == Reason.CHALLENGE_ENDED:
            return _restart_login(
                request,
                _(
                    "このログインは無効になりました。IDとパスワードからもう一度ログインしてください。"
                ),
            )
        if refusal.reason == Reason.RESEND_TOO_SOON:
            messages.error(
                request,
                _("再送信は%(s)d秒後からできます。少し待ってからもう一度押してください。")
                % {"s": refusal.wait_seconds},
            )
        else:  # OTP_UNAVAILABLE
            messages.error(request, _otp_cap_message())
    else:
        messages.success(
            request,
            _(
                "ワンタイムパスワードを再送信しました。新しいメールに記載されたワンタイム"
                "パスワードを入力してください（前のワンタイムパスワードは使えません）。"
            ),
        )
    return redirect("accounts:otp")


@never_cache
@require_POST
def logout_view(request):
    user_session_forget(request.session.session_key)
    logout(request)  # flushes the session: the server-side copy is deleted
    messages.success(request, _("ログアウトしました。"))
    return redirect("accounts:login")


# --- My Page ----------------------------------------------------------------------------------


@mypage_view
def mypage_view_home(request):
    return render(request, "accounts/mypage.html", {"jobseeker": request.jobseeker})


@mypage_view
def profile_view(request):
    return render(
        request,
        "accounts/profile.html",
        {"jobseeker": request.jobseeker, "office_contact": site_text("OFFICE_CONTACT")},
    )


@mypage_view
@sensitive_post_parameters("current_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    form = PasswordChangeForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account_password_change(
                request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password1"],
                origin=request_origin(request),
                keep_session_key=request.session.session_key,
            )
        except Refused as refusal:
            if refusal.reason == Reason.LOCKED:
                return _locked_out(request, refusal.locked_until)
            if refusal.reason == Reason.CURRENT_PASSWORD_WRONG:
                form.add_error("current_password", wrong_current_password_message())
            else:  # PASSWORD_UNCHANGED
                form.add_error(
                    "new_password1",
                    _("新しいパスワードには、現在のパスワードと異なるものを入力してください。"),
                )
            return form_state_keep(request, form)
        else:
            old_key = request.session.session_key
            update_session_auth_hash(request, request.user)  # keeps this session, new key
            user_session_rekey(old_key, request.session.session_key)
            messages.success(
                request,
                _(
                    "パスワードを変更しました。ほかの端末やブラウザのログインは終了し、"
                    "ワンタイムパスワードの省略も解除しました。お知らせのメールを送信します。"
                ),
            )
            response = redirect("accounts:mypage")
            _delete_trusted_cookie(response)
            return response
    if request.method == "POST":
        current = form.cleaned_data.get("current_password")
        if current:  # the new password was refused: say too whether the current one is right
            try:
                account_current_password_verify(
                    request.user, current, origin=request_origin(request)
                )
            except Refused as refusal:
                if refusal.reason == Reason.LOCKED:
                    return _locked_out(request, refusal.locked_until)
                form.add_error("current_password", wrong_current_password_message())
        return form_state_keep(request, form)  # nothing typed is kept: all are passwords
    form_state_restore(request, form)
    return render(
        request,
        "accounts/password_change.html",
        {
            "form": form,
            "has_errors": bool(form.errors),
            "password_rules": password_rules_list(),
        },
    )


def _locked_out(request, locked_until):
    user_session_forget(request.session.session_key)
    logout(request)
    messages.error(request, lock_message(locked_until))
    return redirect("accounts:login")


@mypage_view
def login_history_view(request):
    events = login_history_list(request.user)
    rows = [{"event": event, "browser": browser_label(event.user_agent)} for event in events]
    return render(
        request,
        "accounts/login_history.html",
        {"rows": rows, "limit": settings.LOGIN_HISTORY_SIZE},
    )


@mypage_view
def trusted_browsers_view(request):
    current = trusted_browser_id(_trusted_cookie(request))
    rows = [
        {
            "browser": browser,
            "label": browser_label(browser.user_agent),
            "current": browser.pk == current,
        }
        for browser in trusted_browser_list(request.user)
    ]
    return render(
        request,
        "accounts/trusted_browsers.html",
        {
            "rows": rows,
            "otp_enabled": settings.LOGIN_OTP_ENABLED,
            "trusted_days": settings.TRUSTED_BROWSER_DAYS,
        },
    )


@mypage_view
@require_POST
def trusted_browser_revoke_view(request, browser_id):
    if not trusted_browser_revoke(request.user, browser_id, origin=request_origin(request)):
        raise Http404
    messages.success(
        request,
        _(
            "ワンタイムパスワードの省略を解除しました。そのブラウザでは次回のログインからワンタイムパスワードの入力が必要です。"
        ),
    )
    response = redirect("accounts:trusted_browsers")
    if trusted_browser_id(_trusted_cookie(request)) == browser_id:
        _delete_trusted_cookie(response)
    return response


@mypage_view
@require_POST
def trusted_browser_revoke_all_view(request):
    trusted_browser_revoke_all(
        request.user, actor=request.user, origin=request_origin(request), reason="mypage"
    )
    messages.success(
        request,
        _("すべてのブラウザでワンタイムパスワードの省略を解除しました。"),
    )
    response = redirect("accounts:trusted_browsers")
    _delete_trusted_cookie(response)
    return response


@require_POST
def language_switch(request):
    """Django's set_language (the cookie and the redirect back); for a signed-in job seeker,
    the chosen language also becomes their own, for the mails they get later."""
    response = set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and check_for_language(language):
        jobseeker = jobseeker_of(request.user)
        if jobseeker is not None:
            jobseeker_language_set(jobseeker, language)
    return response
