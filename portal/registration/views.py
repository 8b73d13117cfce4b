"""Thin views: resume the flow held in this browser's session, validate a form, call one
service, redirect (POST → redirect → GET). A request for the wrong screen lands on the right
one with a message."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.password_rules import password_rules_list
from portal.core.client_ip import client_ip
from portal.core.clock import now as clock_now
from portal.core.form_state import form_state_keep, form_state_restore
from portal.core.ratelimit import Limit, rate_limit_exceeded, rate_limits_exceeded
from portal.registration import services
from portal.registration.flow import (
    SCREEN_FOR_STAGE,
    EndReason,
    Purpose,
    Stage,
    TransitionError,
)
from portal.registration.forms import IdentityForm, PasswordForm, TermsForm
from portal.registration.mail_cap import MailCapped
from portal.registration.terms import DOCUMENTS, terms_load

_ENDED_MESSAGES = {
    EndReason.TOO_MANY_WRONG_KEYS: gettext_lazy(
        "認証キーの入力を規定の回数以上誤ったため、この手続きは無効になりました。"
        "お手数ですが、はじめからやり直してください。"
    ),
    EndReason.EXPIRED: gettext_lazy(
        "手続きの有効期限が切れました。お手数ですが、はじめからやり直してください。"
    ),
    EndReason.SUPERSEDED: gettext_lazy(
        "この手続きは、別の画面で登録が完了したため終了しました。ログイン画面からログインしてください。"
    ),
    EndReason.ACCOUNT_CONFLICT: gettext_lazy(
        "このメールアドレスではマイページを開設できません。"
        "求職申込みをしたハローワークの窓口にお問い合わせください。"
    ),
    EndReason.EMAIL_CHANGED: gettext_lazy(
        "窓口でメールアドレスが変更されたため、この手続きは終了しました。"
        "はじめからやり直してください。"
    ),
}


_MAIL_NAME = {
    Purpose.REGISTER: gettext_lazy("パスワード登録申込受付通知"),
    Purpose.RESET: gettext_lazy("パスワード再設定申込受付通知"),
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
    flow = services.flow_resume(
        request.session.get(_session_key(purpose)), purpose, with_key_mail=with_key_mail
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
            if {k: form.cleaned_data[k] for k in current} != current:
                messages.error(
                    request,
                    _("利用規約等が更新されました。改めて最後までご確認のうえ、同意してください。"),
                )
                return redirect("registration:terms")
            if rate_limit_exceeded(
                "flow-start-ip",
                client_ip(request),
                limit=settings.FLOW_STARTS_PER_IP_PER_HOUR,
                window_seconds=3600,
            ):
                messages.error(
                    request,
                    _(
                        "短時間に多くの申込みがありました。しばらく時間をおいてから、もう一度お試しください。"
                    ),
                )
                return redirect("registration:terms")
            flow = services.flow_start(Purpose.REGISTER, **current, ip=client_ip(request))
            request.session[_session_key(Purpose.REGISTER)] = flow.pk
            return redirect("registration:identity")
        return form_state_keep(request, form)
    form = TermsForm(initial=current)
    form_state_restore(request, form)
    return _render(
        request,
        "registration/terms.html",
        {"form": form, "privacy": privacy, "mypage": mypage, "step": 1},
    )


def _identity_rate_limited(request, email: str) -> bool:
    return any(
        rate_limits_exceeded(
            Limit(
                "identity-ip",
                client_ip(request),
                settings.IDENTITY_SUBMISSIONS_PER_IP_PER_HOUR,
                3600,
            ),
            Limit(
                "identity-address", email, settings.IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR, 3600
            ),
        )
    )


_RESEND_REFUSED = {
    services.IdentityRefused.TOO_SOON: gettext_lazy(
        "認証キーの再送信は、%(time)s以降にできます。少し待ってからもう一度押してください。"
    ),
    services.IdentityRefused.RESEND_LIMIT: gettext_lazy(
        "認証キーの再送信は%(n)d回までです。メールが届かない場合は、メール受信制限の設定と"
        "メールアドレスを確認し、はじめからやり直してください。"
    ),
}


# ② after 「メールアドレスを変更する」: the person asked for no resend, only for a key.
_IDENTITY_REFUSED = {
    services.IdentityRefused.TOO_SOON: gettext_lazy(
        "同じメールアドレスへの新しい認証キーは、%(time)s以降に送信できます。"
        "しばらく待ってから「次へ進む」を押してください。"
    ),
    services.IdentityRefused.RESEND_LIMIT: gettext_lazy(
        "この手続きで送信できる認証キーの回数（%(n)d回）を超えました。"
        "メールアドレスを確認し、はじめからやり直してください。"
    ),
}


def _hour_text(moment: dt.datetime) -> str:
    """「本日15時」「明日9時」: the hour from which `moment` is past, never the minute."""
    local = timezone.localtime(moment)
    hour = local.replace(minute=0, second=0, microsecond=0)
    if hour < local:
        hour += dt.timedelta(hours=1)
    days = (hour.date() - timezone.localtime(clock_now()).date()).days
    if days <= 0:
        return _("本日%(hour)d時") % {"hour": hour.hour}
    if days == 1:
        return _("明日%(hour)d時") % {"hour": hour.hour}
    return _("明後日%(hour)d時") % {"hour": hour.hour}


def _minute_text(moment: dt.datetime) -> str:
    """「12時05分」: the minute from which `moment` is past (rounded up)."""
    local = timezone.localtime(moment)
    minute = local.replace(second=0, microsecond=0)
    if minute < local:
        minute += dt.timedelta(minutes=1)
    return date_format(minute, _("G時i分"))


def _mail_cap_message(capped: MailCapped) -> str:
    return _(
        "このメールアドレスには、送信できるメールの回数の上限に達したため、"
        "いまはこれ以上メールをお送りできません。%(when)s以降にもう一度お試しください。"
    ) % {"when": _hour_text(capped.lifts_at)}


def _resend_possible_at(flow) -> dt.datetime | None:
    if flow.key_requested_at is None:
        return None
    return flow.key_requested_at + dt.timedelta(seconds=settings.FLOW_RESEND_COOLDOWN_SECONDS)


def _resend_refused_message(refused, flow=None, *, at_identity: bool = False) -> str:
    if isinstance(refused, MailCapped):
        return _mail_cap_message(refused)
    possible_at = _resend_possible_at(flow) if flow is not None else None
    values = {"time": _minute_text(possible_at) if possible_at else ""}
    if at_identity:
        return _IDENTITY_REFUSED[refused] % {**values, "n": settings.FLOW_MAX_RESENDS + 1}
    return _RESEND_REFUSED[refused] % {**values, "n": settings.FLOW_MAX_RESENDS}


def _identity_submit(request, form, flow) -> bool:
    """Submits ② unless a limit says no (then the form carries the message).

    `flow` may be a callable that starts the flow, so that a refused request starts none."""
    if _identity_rate_limited(request, form.cleaned_data["email"]):
        form.add_error(
            None,
            _(
                "短時間に多くの申込みがありました。しばらく時間をおいてから、もう一度お試しください。"
            ),
        )
        return False
    flow = flow() if callable(flow) else flow
    refused = services.flow_submit_identity(
        flow,
        email=form.cleaned_data["email"],
        birth_date=form.cleaned_data["birth_date"],
        ip=client_ip(request),
        language=request.LANGUAGE_CODE,
    )
    if refused:
        form.add_error(None, _resend_refused_message(refused, flow, at_identity=True))
        return False
    # Kept so that ② after 「メールアドレスを変更する」 shows it again (not a secret).
    request.session[_birth_date_key(flow.purpose)] = form.cleaned_data["birth_date"].isoformat()
    return True


# The inputs of ② a failed submission shows again: none of them is a secret.
_IDENTITY_KEPT = ("email", "birth_year", "birth_month", "birth_day")


def _birth_date_key(purpose) -> str:
    return f"flow:{purpose}:birth_date"


def _identity_initial(request, flow) -> dict:
    """② shown again after 「メールアドレスを変更する」: the address and the birth date."""
    if not (flow and flow.email):
        return {}
    initial = {"email": flow.email}
    kept = request.session.get(_birth_date_key(flow.purpose))
    if kept:
        birth_date = dt.date.fromisoformat(kept)
        initial.update(
            birth_year=str(birth_date.year),
            birth_month=str(birth_date.month),
            birth_day=str(birth_date.day),
        )
    return initial


def _identity(request, purpose: Purpose, screen: str, template: str, next_screen: str):
    flow, elsewhere = _resume(request, purpose, screen)
    if elsewhere:
        return elsewhere
    if request.method == "POST":
        form = IdentityForm(request.POST)
        if form.is_valid() and _identity_submit(request, form, flow):
            return redirect(next_screen)
        return form_state_keep(request, form, keep=_IDENTITY_KEPT)
    form = IdentityForm(initial=_identity_initial(request, flow))
    form_state_restore(request, form)
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


def _wrong_key_message(result) -> str:
    return _(
        "認証キーが正しくありません。メールに記載された認証キーを確認して入力してください"
        "（あと%(n)d回間違えると手続きが無効になります）。"
        "新しい認証キーを再送信した場合は、最新のメールの認証キーを入力してください。"
    ) % {"n": result.attempts_left}


_KEY_EXPIRED_MESSAGE = gettext_lazy(
    "認証キーの有効期限（メール配信から%(minutes)d分）が切れています。"
    "「認証キーを再送信する」で新しい認証キーを受け取るか、はじめからやり直してください。"
)


def _password(request, purpose: Purpose, screen: str, template: str, done: str, actions: dict):
    posted = request.method == "POST"
    flow, elsewhere = _resume(request, purpose, screen, with_key_mail=posted)
    if elsewhere:
        return elsewhere
    form = PasswordForm(
        request.POST if posted else None,
        email=flow.email,
        mail_name=_MAIL_NAME[purpose],
        reset=purpose == Purpose.RESET,
    )
    if posted and form.is_valid():
        result = services.flow_complete(
            flow,
            key=form.cleaned_data["key"],
            password=form.cleaned_data["password1"],
            ip=client_ip(request),
            language=request.LANGUAGE_CODE,
        )
        outcome = result.outcome
        if outcome in (services.Outcome.COMPLETED, services.Outcome.ALREADY_COMPLETED):
            request.session[_completed_key(purpose)] = flow.pk
            return redirect(done)
        if outcome == services.Outcome.WRONG_KEY:
            form.add_error("key", _wrong_key_message(result))
        elif outcome == services.Outcome.KEY_EXPIRED:
            form.add_error(
                "key", _KEY_EXPIRED_MESSAGE % {"minutes": settings.AUTH_KEY_LIFETIME_MINUTES}
            )
        else:  # ended, or moved back to ② in another tab: show where it stands
            return _resume(request, purpose, screen)[1] or redirect(screen)
    if posted:  # nothing typed on ③ is kept: passwords and the key are secrets
        return form_state_keep(request, form)
    form_state_restore(request, form)
    resend_at = _resend_possible_at(flow)
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
            "resend_at": (
                _minute_text(resend_at) if resend_at and resend_at > clock_now() else None
            ),
            "is_reset": purpose == Purpose.RESET,
            "password_rules": password_rules_list(),
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
        refused = services.flow_resend_key(
            flow, ip=client_ip(request), language=request.LANGUAGE_CODE
        )
    except TransitionError:  # another tab completed or ended the flow meanwhile
        return _resume(request, purpose, screen)[1] or redirect(screen)
    if refused:
        messages.error(request, _resend_refused_message(refused, flow))
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
    flow = services.flow_resume(request.session.get(session_key), Purpose.RESET)
    if flow and flow.stage == Stage.COMPLETED:
        request.session.pop(session_key, None)  # a finished reset; this is a new one
        flow = None
    if flow and flow.stage != Stage.TERMS_AGREED:
        return _resume(request, Purpose.RESET, "registration:reset_start")[1]
    if request.method == "POST":
        form = IdentityForm(request.POST)
        if form.is_valid():

            def new_flow():
                started = services.flow_start(Purpose.RESET, ip=client_ip(request))
                request.session[session_key] = started.pk
                return started

            if _identity_submit(request, form, flow or new_flow):
                return redirect("registration:reset_password")
        return form_state_keep(request, form, keep=_IDENTITY_KEPT)
    form = IdentityForm(initial=_identity_initial(request, flow))
    form_state_restore(request, form)
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
