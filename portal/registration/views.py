"""Thin views: resume the flow held in this browser's session, validate a form, call one
service, redirect (POST → redirect → GET). A request for the wrong screen lands on the right
one with a message."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.core.origin import request_origin
from portal.core.refusal import Reason, Refused
from portal.registration import services
from portal.registration.flow import (
    SCREEN_FOR_STAGE,
    EndReason,
    Purpose,
    Stage,
    TransitionError,
)
from portal.registration.forms import IdentityForm, PasswordForm, TermsForm
from portal.registration.selectors import flow_get
from portal.registration.terms import DOCUMENTS, terms_load

_ENDED_MESSAGES = {
    EndReason.TOO_MANY_WRONG_KEYS: _lazy(
        "認証キーの入力を規定の回数以上誤ったため、この手続きは無効になりました。"
        "お手数ですが、はじめからやり直してください。"
    ),
    EndReason.EXPIRED: _lazy(
        "手続きの有効期限が切れました。お手数ですが、はじめからやり直してください。"
    ),
    EndReason.SUPERSEDED: _lazy(
        "この手続きは、別の画面で登録が完了したため終了しました。ログイン画面からログインしてください。"
    ),
    EndReason.ACCOUNT_CONFLICT: _lazy(
        "このメールアドレスではマイページを開設できません。"
        "求職申込みをしたハローワークの窓口にお問い合わせください。"
    ),
    EndReason.EMAIL_CHANGED: _lazy(
        "窓口でメールアドレスが変更されたため、この手続きは終了しました。"
        "はじめからやり直してください。"
    ),
}


_MAIL_NAME = {
    Purpose.REGISTER: _lazy("パスワード登録申込受付通知"),
    Purpose.RESET: _lazy("パスワード再設定申込受付通知"),
}


def _session_key(purpose: Purpose) -> str:
    return f"flow:{purpose}"


def _completed_key(purpose: Purpose) -> str:
    return f"flow:{purpose}:completed"


def _completed_here(request, purpose: Purpose) -> bool:
    """Whether this browser's flow completed in this browser. Completion is final, so the
    session can say so without asking the database; a newer flow has another id."""
    flow_id = request.session.get(_session_key(purpose))
    return flow_id is not None and request.session.get(_completed_key(purpose)) == flow_id


def _done(request, purpose: Purpose, screen: str, template: str, context: dict):
    """The completion screen, for a flow completed here, or else wherever the flow belongs."""
    if not _completed_here(request, purpose):
        _flow, elsewhere = _resume(request, purpose, screen)
        if elsewhere:
            return elsewhere
    return render(request, template, context)


def _resume(request, purpose: Purpose, screen: str, *, with_key_mail: bool = False):
    """(flow, None) when this browser's flow belongs on `screen`, else (flow, redirect)."""
    flow = services.flow_end_if_expired(
        flow_get(request.session.get(_session_key(purpose)), purpose, with_key_mail=with_key_mail)
    )
    stage = Stage(flow.stage) if flow else None
    target = SCREEN_FOR_STAGE[purpose][stage]
    if target == screen and stage != Stage.ENDED:
        return flow, None
    if stage == Stage.ENDED:
        request.session.pop(_session_key(purpose), None)
        messages.error(request, _ENDED_MESSAGES.get(flow.ended_reason, _ENDED_MESSAGES["expired"]))
        return flow, redirect(SCREEN_FOR_STAGE[purpose][None])
    if stage is None:
        if screen != SCREEN_FOR_STAGE[purpose][None]:
            messages.info(
                request,
                _(
                    "手続きの情報が見つかりません（画面を閉じた、時間が経った、別のブラウザで開いた"
                    "などの場合）。お手数ですが、はじめからやり直してください。"
                ),
            )
        return None, redirect(target)
    if stage == Stage.KEY_SENT:
        messages.info(
            request,
            _(
                "認証キーは送信済みです。メールに記載された認証キーとパスワードを入力してください。"
                "メールアドレスを変更する場合は「メールアドレスを変更する」を押してください。"
            ),
        )
    elif stage == Stage.COMPLETED:
        messages.info(request, _("登録は完了しています。"))
    elif stage == Stage.TERMS_AGREED and purpose == Purpose.REGISTER:
        messages.info(request, _("メールアドレスと生年月日を入力してください。"))
    return flow, redirect(target)


def _render(request, template, context, status=200):
    if "has_errors" not in context:
        form = context.get("form")
        context["has_errors"] = bool(form is not None and form.errors)
    return render(request, template, context, status=status)


@require_GET
def top(request):
    return render(request, "registration/top.html", {})


@require_GET
def terms_document(request, name):
    if name not in DOCUMENTS:
        raise Http404
    return render(request, "registration/terms_document.html", {"document": terms_load(name)})


@never_cache
@require_http_methods(["GET", "POST"])
def terms(request):
    """① 求職者マイページ利用規約確認. Always starts a new flow: this is the way to start over."""
    privacy, mypage = terms_load("privacy"), terms_load("mypage")
    current = {"privacy_version": privacy.version, "terms_version": mypage.version}
    if request.method == "POST":
        form = TermsForm(request.POST)
        if form.is_valid():
            try:
                flow = services.flow_start(
                    Purpose.REGISTER,
                    **{k: form.cleaned_data[k] for k in current},
                    origin=request_origin(request),
                )
            except Refused as refusal:
                messages.error(request, _refusal_message(refusal))
                return redirect("registration:terms")
            request.session[_session_key(Purpose.REGISTER)] = flow.pk
            return redirect("registration:identity")
    else:
        form = TermsForm(initial=current)
    return _render(
        request,
        "registration/terms.html",
        {"form": form, "privacy": privacy, "mypage": mypage, "step": 1},
    )


# Every reason the registration services refuse for, and its message (docs/architecture.md,
# "Refusals"). FLOW_ENDED, ALREADY_COMPLETED and NOT_READY send the browser to where its flow
# stands instead (_resume), so they have no message here.
_REFUSAL_MESSAGES = {
    Reason.TERMS_OUTDATED: _lazy(
        "利用規約等が更新されました。改めて最後までご確認のうえ、同意してください。"
    ),
    Reason.RATE_LIMITED: _lazy(
        "短時間に多くの申込みがありました。しばらく時間をおいてから、もう一度お試しください。"
    ),
    Reason.RESEND_TOO_SOON: _lazy(
        "認証キーの再送信は、前回の送信から%(s)d秒たってから行ってください。"
    ),
    Reason.RESEND_LIMIT: _lazy(
        "認証キーの再送信は%(n)d回までです。メールが届かない場合は、メール受信制限の設定と"
        "メールアドレスを確認し、はじめからやり直してください。"
    ),
    Reason.WRONG_KEY: _lazy(
        "認証キーが正しくありません。メールに記載された認証キーを確認して入力してください"
        "（あと%(tries_left)d回間違えると手続きが無効になります）。"
        "新しい認証キーを再送信した場合は、最新のメールの認証キーを入力してください。"
    ),
    Reason.KEY_EXPIRED: _lazy(
        "認証キーの有効期限（メール配信から%(minutes)d分）が切れています。"
        "「認証キーを再送信する」で新しい認証キーを受け取るか、はじめからやり直してください。"
    ),
}


def _refusal_message(refusal: Refused) -> str:
    return _REFUSAL_MESSAGES[refusal.reason] % {
        "s": settings.FLOW_RESEND_COOLDOWN_SECONDS,
        "n": settings.FLOW_MAX_RESENDS,
        "tries_left": refusal.tries_left,
        "minutes": settings.AUTH_KEY_LIFETIME_MINUTES,
    }


def _identity_submit(request, form, flow, purpose: Purpose):
    """Submits ②; the flow, or None when refused (then the form carries the message). `flow`
    None starts a flow (the reset's first screen) once the limits let the request through."""
    try:
        return services.flow_submit_identity(
            flow,
            purpose=purpose,
            email=form.cleaned_data["email"],
            birth_date=form.cleaned_data["birth_date"],
            origin=request_origin(request),
        )
    except Refused as refusal:
        form.add_error(None, _refusal_message(refusal))
        return None


def _identity(request, purpose: Purpose, screen: str, template: str, next_screen: str):
    flow, elsewhere = _resume(request, purpose, screen)
    if elsewhere:
        return elsewhere
    if request.method == "POST":
        form = IdentityForm(request.POST)
        if form.is_valid() and _identity_submit(request, form, flow, purpose):
            return redirect(next_screen)
    elif flow and flow.email:  # back from ③ to correct the address: shown filled in
        form = IdentityForm(initial={"email": flow.email})
    else:
        form = IdentityForm()
    return _render(request, template, {"form": form, "flow": flow, "step": 2})


@never_cache
@require_http_methods(["GET", "POST"])
def identity(request):
    """② メールアドレスの入力（パスワード登録申込）"""
    return _identity(
        request,
        Purpose.REGISTER,
        "registration:identity",
        "registration/identity.html",
        "registration:password",
    )


def _password(request, purpose: Purpose, screen: str, template: str, done: str, actions: dict):
    posted = request.method == "POST"
    flow, elsewhere = _resume(request, purpose, screen, with_key_mail=posted)
    if elsewhere:
        return elsewhere
    form = PasswordForm(request.POST if posted else None, email=flow.email)
    if posted and form.is_valid():
        try:
            services.flow_complete(
                flow,
                key=form.cleaned_data["key"],
                password=form.cleaned_data["password1"],
                origin=request_origin(request),
            )
        except Refused as refusal:
            if refusal.reason == Reason.ALREADY_COMPLETED:
                request.session[_completed_key(purpose)] = flow.pk
                return redirect(done)
            if refusal.reason in (Reason.WRONG_KEY, Reason.KEY_EXPIRED):
                form.add_error("key", _refusal_message(refusal))
            else:  # ended, or moved back to ② in another tab: show where it stands
                return _resume(request, purpose, screen)[1] or redirect(screen)
        else:
            request.session[_completed_key(purpose)] = flow.pk
            return redirect(done)
    return _render(
        request,
        template,
        {
            "form": form,
            "flow": flow,
            "step": 3 if purpose == Purpose.REGISTER else None,
            "title": _("パスワード登録") if purpose == Purpose.REGISTER else _("パスワード再設定"),
            "mail_name": _MAIL_NAME[purpose],
            "lifetime_minutes": settings.AUTH_KEY_LIFETIME_MINUTES,
            "resends_left": max(0, settings.FLOW_MAX_RESENDS - flow.resends),
            "resend": actions["resend"],
            "change_address": actions["change_address"],
        },
    )


@never_cache
@sensitive_post_parameters("password1", "password2", "key")
@require_http_methods(["GET", "POST"])
def password(request):
    """③ パスワード登録"""
    return _password(
        request,
        Purpose.REGISTER,
        "registration:password",
        "registration/password.html",
        "registration:done",
        {"resend": "registration:resend", "change_address": "registration:change_address"},
    )


def _resend(request, purpose: Purpose, screen: str):
    flow, elsewhere = _resume(request, purpose, screen)
    if elsewhere:
        return elsewhere
    try:
        services.flow_resend_key(flow, origin=request_origin(request))
    except TransitionError:  # another tab completed or ended the flow meanwhile
        return _resume(request, purpose, screen)[1] or redirect(screen)
    except Refused as refusal:
        messages.error(request, _refusal_message(refusal))
    else:
        messages.success(
            request,
            _(
                "認証キーを再送信しました。新しいメールの認証キーを入力してください"
                "（前の認証キーは使えません）。"
            ),
        )
    return redirect(screen)


@never_cache
@require_POST
def resend(request):
    return _resend(request, Purpose.REGISTER, "registration:password")


def _change_address(request, purpose: Purpose, screen: str, back_to: str):
    flow, elsewhere = _resume(request, purpose, screen)
    if elsewhere:
        return elsewhere
    try:
        services.flow_change_address(flow)
    except TransitionError:  # another tab completed or ended the flow meanwhile
        return _resume(request, purpose, screen)[1] or redirect(screen)
    return redirect(back_to)


@never_cache
@require_POST
def change_address(request):
    return _change_address(
        request, Purpose.REGISTER, "registration:password", "registration:identity"
    )


@never_cache
@require_GET
def done(request):
    """④ パスワード登録完了"""
    return _done(
        request, Purpose.REGISTER, "registration:done", "registration/done.html", {"step": 4}
    )


# --- パスワード再設定 (forgotten password): the same machinery, for opened accounts ---------


@never_cache
@require_http_methods(["GET", "POST"])
def reset_start(request):
    session_key = _session_key(Purpose.RESET)
    flow = services.flow_end_if_expired(flow_get(request.session.get(session_key), Purpose.RESET))
    if flow and flow.stage == Stage.COMPLETED:
        request.session.pop(session_key, None)  # a finished reset; this is a new one
        flow = None
    if flow and flow.stage != Stage.TERMS_AGREED:
        return _resume(request, Purpose.RESET, "registration:reset_start")[1]
    form = IdentityForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        submitted = _identity_submit(request, form, flow, Purpose.RESET)
        if submitted is not None:
            request.session[session_key] = submitted.pk
            return redirect("registration:reset_password")
    return _render(request, "registration/reset_start.html", {"form": form})


@never_cache
@sensitive_post_parameters("password1", "password2", "key")
@require_http_methods(["GET", "POST"])
def reset_password(request):
    return _password(
        request,
        Purpose.RESET,
        "registration:reset_password",
        "registration/password.html",
        "registration:reset_done",
        {
            "resend": "registration:reset_resend",
            "change_address": "registration:reset_change_address",
        },
    )


@never_cache
@require_POST
def reset_resend(request):
    return _resend(request, Purpose.RESET, "registration:reset_password")


@never_cache
@require_POST
def reset_change_address(request):
    return _change_address(
        request, Purpose.RESET, "registration:reset_password", "registration:reset_start"
    )


@never_cache
@require_GET
def reset_done(request):
    return _done(
        request, Purpose.RESET, "registration:reset_done", "registration/reset_done.html", {}
    )
