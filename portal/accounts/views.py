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

from portal.accounts import services
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
from portal.accounts.password_check import account_current_password_verify
from portal.accounts.password_rules import password_rules_list
from portal.accounts.services import LoginStatus, OtpOutcome
from portal.accounts.user_agents import browser_label
from portal.core.client_ip import client_ip
from portal.core.form_state import form_state_keep, form_state_restore
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
        if not services.mypage_allowed(request.user):
            services.user_session_forget(request.session.session_key)
            logout(request)
            messages.error(
                request,
                _("このアカウントではマイページを利用できません。%(contact)s")
                % {"contact": site_text("OFFICE_CONTACT")},
            )
            return redirect("accounts:login")
        request.jobseeker = services.jobseeker_of(request.user)
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


# --- Login -----------------------------------------------------------------------------------


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.user.is_authenticated and services.mypage_allowed(request.user):
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
        result = services.login_credentials_check(
            form.cleaned_data["login_id"],
            form.cleaned_data["password"],
            ip=client_ip(request),
            user_agent=services.request_user_agent(request),
            trusted_cookie=_trusted_cookie(request),
        )
        if result.status == LoginStatus.OK:
            request.session.pop(OTP_SESSION_KEY, None)
            services.login_complete(request, result.user)
            return redirect(next_url)
        if result.status == LoginStatus.OTP_REQUIRED:
            request.session[OTP_SESSION_KEY] = {
                "challenge": str(result.challenge.pk),
                "next": next_url,
            }
            return redirect("accounts:otp")
        if result.status == LoginStatus.LOCKED:
            extra["locked_until"] = result.locked_until.isoformat()
        elif result.status == LoginStatus.RATE_LIMITED:
            form.add_error(
                None,
                _(
                    "短時間に多くのログインがありました。しばらく時間をおいてから、"
                    "もう一度お試しください。"
                ),
            )
        elif result.status == LoginStatus.OTP_UNAVAILABLE:
            form.add_error(None, _otp_cap_message())
        else:
            form.add_error(None, login_failed_message())
            if login_tries_left(form.cleaned_data["login_id"], client_ip(request)) == 1:
                form.add_error(None, last_try_message())
    return form_state_keep(request, form, keep=("login_id",), extra=extra)


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
    return pending, services.login_challenge_get(pending.get("challenge"))


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
        ip = client_ip(request)
        user_agent = services.request_user_agent(request)
        result = services.login_challenge_verify(
            challenge.pk, form.cleaned_data["code"], ip=ip, user_agent=user_agent
        )
        if result.outcome == OtpOutcome.OK:
            request.session.pop(OTP_SESSION_KEY, None)
            services.login_complete(request, result.user)
            response = redirect(_next_url(request, pending.get("next")))
            if form.cleaned_data["remember"]:
                _browser, value = services.trusted_browser_create(
                    result.user, ip=ip, user_agent=user_agent
                )
                response.set_cookie(
                    settings.TRUSTED_BROWSER_COOKIE_NAME,
                    value,
                    max_age=settings.TRUSTED_BROWSER_DAYS * 24 * 60 * 60,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
            return response
        if result.outcome == OtpOutcome.WRONG:
            form.add_error(
                "code",
                _(
                    "ワンタイムパスワードが正しくありません。最新のメールに記載された数字を"
                    "確認して入力してください（あと%(n)d回間違えると、ログインをやり直して"
                    "いただきます）。"
                )
                % {"n": result.tries_left},
            )
        elif result.outcome == OtpOutcome.EXPIRED:
            form.add_error(
                "code",
                _(
                    "ワンタイムパスワードの有効期限（送信から%(minutes)d分）が切れています。"
                    "「ワンタイムパスワードを再送信する」を押して、新しいワンタイムパスワードを"
                    "受け取ってください。"
                )
                % {"minutes": settings.LOGIN_OTP_LIFETIME_MINUTES},
            )
        elif result.outcome == OtpOutcome.LOCKED:
            return _restart_login(request, lock_message(result.locked_until))
        elif result.outcome == OtpOutcome.EXHAUSTED:
            return _restart_login(
                request,
                _(
                    "ワンタイムパスワードを%(n)d回間違えたため、このログインは無効になりました。"
                    "IDとパスワードからもう一度ログインしてください。"
                )
                % {"n": settings.LOGIN_OTP_MAX_WRONG},
            )
        else:
            return _restart_login(
                request,
                _(
                    "このログインは無効になりました。IDとパスワードからもう一度ログインしてください。"
                ),
            )
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
        services.login_challenge_resend(challenge.pk)
    except services.ChallengeEnded:
        return _restart_login(
            request,
            _("このログインは無効になりました。IDとパスワードからもう一度ログインしてください。"),
        )
    except services.OtpResendTooSoon as exc:
        messages.error(
            request,
            _("再送信は%(s)d秒後からできます。少し待ってからもう一度押してください。")
            % {"s": exc.seconds},
        )
    except services.OtpMailCapReached:
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
    services.user_session_forget(request.session.session_key)
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
            services.account_password_change(
                request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password1"],
                ip=client_ip(request),
                user_agent=services.request_user_agent(request),
                keep_session_key=request.session.session_key,
            )
        except services.AccountLocked as exc:
            services.user_session_forget(request.session.session_key)
            logout(request)
            messages.error(request, lock_message(exc.locked_until))
            return redirect("accounts:login")
        except services.PasswordChangeRefused as exc:
            form.add_error(exc.field, exc.message)
            return form_state_keep(request, form)
        else:
            old_key = request.session.session_key
            update_session_auth_hash(request, request.user)  # keeps this session, new key
            services.user_session_rekey(old_key, request.session.session_key)
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
            right, lock = account_current_password_verify(
                request.user,
                current,
                ip=client_ip(request),
                user_agent=services.request_user_agent(request),
            )
            if lock.locked:
                services.user_session_forget(request.session.session_key)
                logout(request)
                messages.error(request, lock_message(lock.locked_until))
                return redirect("accounts:login")
            if not right:
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


@mypage_view
def login_history_view(request):
    events = services.login_history_list(request.user)
    rows = [{"event": event, "browser": browser_label(event.user_agent)} for event in events]
    return render(
        request,
        "accounts/login_history.html",
        {"rows": rows, "limit": settings.LOGIN_HISTORY_SIZE},
    )


@mypage_view
def trusted_browsers_view(request):
    current = services.trusted_browser_id(_trusted_cookie(request))
    rows = [
        {
            "browser": browser,
            "label": browser_label(browser.user_agent),
            "current": browser.pk == current,
        }
        for browser in services.trusted_browser_list(request.user)
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
    if not services.trusted_browser_revoke(request.user, browser_id, ip=client_ip(request)):
        raise Http404
    messages.success(
        request,
        _(
            "ワンタイムパスワードの省略を解除しました。そのブラウザでは次回のログインからワンタイムパスワードの入力が必要です。"
        ),
    )
    response = redirect("accounts:trusted_browsers")
    if services.trusted_browser_id(_trusted_cookie(request)) == browser_id:
        _delete_trusted_cookie(response)
    return response


@mypage_view
@require_POST
def trusted_browser_revoke_all_view(request):
    services.trusted_browser_revoke_all(
        request.user, actor=request.user, ip=client_ip(request), reason="mypage"
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
        jobseeker = services.jobseeker_of(request.user)
        if jobseeker is not None:
            jobseeker_language_set(jobseeker, language)
    return response
