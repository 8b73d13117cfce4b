"""The staff admin's login pages: the password at /staff/login/, then the mailed one-time
password at /staff/login/otp/; and a staff member's own e-mail change at /staff/email/. Served
by portal.accounts.sites.StaffAdminSite; thin views that call portal.accounts.staff_auth and
staff_email and map their outcomes to messages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from portal.accounts import staff_auth, staff_email
from portal.accounts.forms import (
    StaffEmailChangeForm,
    StaffLoginForm,
    StaffOtpForm,
    lock_message,
    login_failed_message,
)
from portal.accounts.selectors import login_challenge_get
from portal.core.origin import request_origin
from portal.core.refusal import Reason, Refused

PENDING = staff_auth.STAFF_PENDING_SESSION_KEY


def _next_url(request, site, value: str | None) -> str:
    """A safe `next` on this host, else the admin index (never the My Page's defaults)."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("admin:index", current_app=site.name)


def _unavailable_message() -> str:
    return _(
        "ワンタイムパスワードのメールを送信できないため、いまはログインできません。%(contact)s"
    ) % {"contact": settings.STAFF_SUPPORT_CONTACT}


def _pending_challenge(request):
    pending = request.session.get(PENDING) or {}
    return pending, login_challenge_get(pending.get("challenge"))


def _restart(request, site, message: str, *, level=messages.ERROR):
    request.session.pop(PENDING, None)
    messages.add_message(request, level, message)
    return redirect(reverse("admin:login", current_app=site.name))


def staff_login_view(request, site, extra_context=None):
    if request.method == "GET":
        if site.has_permission(request):
            return redirect(reverse("admin:index", current_app=site.name))
        # A session that passed the password is sent on to its one-time password, unless the
        # staff member chose to start the login again.
        if "restart" not in request.GET and _pending_challenge(request)[1] is not None:
            return redirect(reverse("admin:staff_otp", current_app=site.name))
    next_url = _next_url(
        request, site, request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    )
    form = StaffLoginForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            started = staff_auth.staff_login_start(
                form.cleaned_data["username"],
                form.cleaned_data["password"],
                origin=request_origin(request),
            )
        except Refused as refusal:
            form.add_error(None, _login_refusal_message(refusal))
        else:
            if started.challenge is None:
                request.session.pop(PENDING, None)
                staff_auth.staff_login_complete(request, started.user)
                return redirect(next_url)
            request.session[PENDING] = {"challenge": str(started.challenge.pk), "next": next_url}
            return redirect(reverse("admin:staff_otp", current_app=site.name))
    context = {
        **site.each_context(request),
        "title": _("ログイン"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        "form": form,
        REDIRECT_FIELD_NAME: next_url,
        **(extra_context or {}),
    }
    request.current_app = site.name
    return TemplateResponse(request, site.login_template or "admin/login.html", context)


def _login_refusal_message(refusal: Refused) -> str:
    if refusal.reason == Reason.LOCKED:
        return lock_message(refusal.locked_until, staff=True)
    if refusal.reason == Reason.RATE_LIMITED:
        return _(
            "短時間に多くのログインがありました。しばらく時間をおいてから、もう一度お試しください。"
        )
    if refusal.reason == Reason.OTP_UNAVAILABLE:
        return _unavailable_message()
    return login_failed_message()


def _wrong_code_message(refusal: Refused) -> str:
    return _(
        "ワンタイムパスワードが正しくありません。最新のメールに記載された数字を"
        "確認して入力してください（あと%(n)d回間違えると、ログインをやり直して"
        "いただきます）。"
    ) % {"n": refusal.tries_left}


def staff_otp_view(request, site):
    pending, challenge = _pending_challenge(request)
    if challenge is None:
        return _restart(
            request,
            site,
            _(
                "ワンタイムパスワードの入力期間が終わりました。IDとパスワードからもう一度ログインしてください。"
            ),
            level=messages.INFO,
        )
    form = StaffOtpForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            user = staff_auth.staff_otp_verify(
                challenge.pk, form.cleaned_data["code"], origin=request_origin(request)
            )
        except Refused as refusal:
            result = refusal
        else:
            request.session.pop(PENDING, None)
            staff_auth.staff_login_complete(request, user)
            return redirect(_next_url(request, site, pending.get("next")))
        if result.reason == Reason.OTP_WRONG:
            form.add_error("code", _wrong_code_message(result))
        elif result.reason == Reason.OTP_EXPIRED:
            form.add_error(
                "code",
                _(
                    "ワンタイムパスワードの有効期限（送信から%(minutes)d分）が切れています。"
                    "「ワンタイムパスワードを再送信する」を押して、新しいワンタイムパスワードを"
                    "受け取ってください。"
                )
                % {"minutes": settings.LOGIN_OTP_LIFETIME_MINUTES},
            )
        elif result.reason == Reason.LOCKED:
            return _restart(request, site, lock_message(result.locked_until, staff=True))
        elif result.reason == Reason.OTP_EXHAUSTED:
            return _restart(
                request,
                site,
                _(
                    "ワンタイムパスワードを%(n)d回間違えたため、このログインは無効になりました。"
                    "IDとパスワードからもう一度ログインしてください。"
                )
                % {"n": settings.LOGIN_OTP_MAX_WRONG},
            )
        else:
            return _restart(
                request,
                site,
                _(
                    "このログインは無効になりました。IDとパスワードからもう一度ログインしてください。"
                ),
            )
    context = {
        **site.each_context(request),
        "title": _("ワンタイムパスワードの入力"),
        "subtitle": None,
        "form": form,
        "email": challenge.user.email,
        "minutes": settings.LOGIN_OTP_LIFETIME_MINUTES,
        "cooldown": settings.LOGIN_OTP_RESEND_COOLDOWN_SECONDS,
        "support_contact": settings.STAFF_SUPPORT_CONTACT,
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/accounts/staff_otp.html", context)


def staff_otp_resend_view(request, site):
    if request.method != "POST":
        return redirect(reverse("admin:staff_otp", current_app=site.name))
    _pending, challenge = _pending_challenge(request)
    if challenge is None:
        return _restart(
            request,
            site,
            _(
                "ワンタイムパスワードの入力期間が終わりました。IDとパスワードからもう一度ログインしてください。"
            ),
            level=messages.INFO,
        )
    try:
        staff_auth.staff_otp_resend(challenge.pk)
    except Refused as refusal:
        if refusal.reason == Reason.RESEND_TOO_SOON:
            messages.error(
                request,
                _("再送信は%(s)d秒後からできます。少し待ってからもう一度押してください。")
                % {"s": refusal.wait_seconds},
            )
        elif refusal.reason == Reason.OTP_UNAVAILABLE:
            messages.error(request, _unavailable_message())
        else:
            return _restart(
                request,
                site,
                _(
                    "このログインは無効になりました。IDとパスワードからもう一度ログインしてください。"
                ),
            )
    else:
        messages.success(
            request,
            _(
                "ワンタイムパスワードを再送信しました。新しいメールに記載されたワンタイム"
                "パスワードを入力してください（前のワンタイムパスワードは使えません）。"
            ),
        )
    return redirect(reverse("admin:staff_otp", current_app=site.name))


# --- A staff member's own e-mail address -----------------------------------------------------

EMAIL_PENDING = "staff_email_change"


def staff_email_change_view(request, site):
    """Step 1: the new address (twice); a one-time password goes to it. Step 2: that one-time
    password; then the address changes. The pending step lives in the session."""
    pending = request.session.get(EMAIL_PENDING) or {}
    challenge = login_challenge_get(pending.get("challenge"))
    if challenge is not None and challenge.user_id != request.user.pk:
        challenge = None
    if challenge is not None and "restart" not in request.GET:
        return _staff_email_confirm(request, site, pending, challenge)
    form = StaffEmailChangeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge, email = staff_email.staff_email_change_start(
                request.user, form.cleaned_data["new_email"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("new_email", message)
        except Refused:  # OTP_UNAVAILABLE, the only refusal of this step
            form.add_error(None, _unavailable_message())
        else:
            request.session[EMAIL_PENDING] = {"challenge": str(challenge.pk), "email": email}
            return redirect(reverse("admin:staff_email_change", current_app=site.name))
    return _staff_email_page(request, site, form=form, step=1)


def _staff_email_confirm(request, site, pending, challenge):
    form = StaffOtpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = None
        try:
            staff_email.staff_email_change_confirm(
                request.user,
                challenge.pk,
                form.cleaned_data["code"],
                pending["email"],
                origin=request_origin(request),
                keep_session_key=request.session.session_key,
            )
        except ValidationError as exc:
            request.session.pop(EMAIL_PENDING, None)
            messages.error(request, " ".join(exc.messages))
            return redirect(reverse("admin:staff_email_change", current_app=site.name))
        except Refused as refusal:
            result = refusal
        if result is None:
            request.session.pop(EMAIL_PENDING, None)
            messages.success(
                request,
                _(
                    "メールアドレスを変更しました。次回から新しいメールアドレスでログインしてください。"
                    "前のアドレスにお知らせのメールを送信します。"
                ),
            )
            return redirect(reverse("admin:index", current_app=site.name))
        if result.reason == Reason.OTP_WRONG:
            form.add_error("code", _wrong_code_message(result))
        elif result.reason == Reason.OTP_EXPIRED:
            form.add_error(
                "code",
                _(
                    "ワンタイムパスワードの有効期限（送信から%(minutes)d分）が切れています。"
                    "新しいメールアドレスの入力からやり直してください。"
                )
                % {"minutes": settings.LOGIN_OTP_LIFETIME_MINUTES},
            )
        else:
            request.session.pop(EMAIL_PENDING, None)
            if result.reason == Reason.LOCKED:
                messages.error(request, lock_message(result.locked_until, staff=True))
            else:
                messages.error(
                    request,
                    _(
                        "メールアドレスの変更は無効になりました。"
                        "新しいメールアドレスの入力からやり直してください。"
                    ),
                )
            return redirect(reverse("admin:staff_email_change", current_app=site.name))
    return _staff_email_page(request, site, form=form, step=2, email=pending["email"])


def _staff_email_page(request, site, *, form, step, email=""):
    context = {
        **site.each_context(request),
        "title": _("メールアドレスの変更"),
        "subtitle": None,
        "form": form,
        "step": step,
        "email": email,
        "current_email": request.user.email,
        "minutes": settings.LOGIN_OTP_LIFETIME_MINUTES,
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/accounts/staff_email_change.html", context)
