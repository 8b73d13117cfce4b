"""The registration and reset screens' messages for the refusals of the registration services
(docs/architecture.md, "Refusals")."""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.core.clock import now as clock_now
from portal.core.refusal import Reason, Refused

# Mapped here: flow_start's refusals, the resend's and ②'s (which differ, since ② after
# 「メールアドレスを変更する」 asked for no resend), MAIL_CAPPED, WRONG_KEY and KEY_EXPIRED.
# FLOW_ENDED, TOO_MANY_WRONG_KEYS, NOT_READY send the browser to where its flow stands
# (views._resume); ALREADY_COMPLETED goes on to the completion screen.
RATE_LIMITED_MESSAGE = gettext_lazy(
    "短時間に多くの申込みがありました。しばらく時間をおいてから、もう一度お試しください。"
)

START_REFUSED = {
    Reason.TERMS_OUTDATED: gettext_lazy(
        "利用規約等が更新されました。改めて最後までご確認のうえ、同意してください。"
    ),
    Reason.RATE_LIMITED: RATE_LIMITED_MESSAGE,
}

RESEND_REFUSED = {
    Reason.RESEND_TOO_SOON: gettext_lazy(
        "認証キーの再送信は、%(time)s以降にできます。少し待ってからもう一度押してください。"
    ),
    Reason.RESEND_LIMIT: gettext_lazy(
        "認証キーの再送信は%(n)d回までです。メールが届かない場合は、メール受信制限の設定と"
        "メールアドレスを確認し、はじめからやり直してください。"
    ),
}


# ② after 「メールアドレスを変更する」: the person asked for no resend, only for a key.
IDENTITY_REFUSED = {
    Reason.RESEND_TOO_SOON: gettext_lazy(
        "同じメールアドレスへの新しい認証キーは、%(time)s以降に送信できます。"
        "しばらく待ってから「次へ進む」を押してください。"
    ),
    Reason.RESEND_LIMIT: gettext_lazy(
        "この手続きで送信できる認証キーの回数（%(n)d回）を超えました。"
        "メールアドレスを確認し、はじめからやり直してください。"
    ),
}


def hour_text(moment: dt.datetime) -> str:
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


def minute_text(moment: dt.datetime) -> str:
    """「12時05分」: the minute from which `moment` is past (rounded up)."""
    local = timezone.localtime(moment)
    minute = local.replace(second=0, microsecond=0)
    if minute < local:
        minute += dt.timedelta(minutes=1)
    return date_format(minute, _("G時i分"))


def mail_cap_message(refusal: Refused) -> str:
    return _(
        "このメールアドレスには、送信できるメールの回数の上限に達したため、"
        "いまはこれ以上メールをお送りできません。%(when)s以降にもう一度お試しください。"
    ) % {"when": hour_text(refusal.lifts_at)}


def resend_possible_at(flow) -> dt.datetime | None:
    if flow.key_requested_at is None:
        return None
    return flow.key_requested_at + dt.timedelta(seconds=settings.FLOW_RESEND_COOLDOWN_SECONDS)


def resend_refused_message(refusal: Refused, flow=None, *, at_identity: bool = False) -> str:
    if refusal.reason == Reason.RATE_LIMITED:
        return str(RATE_LIMITED_MESSAGE)
    if refusal.reason == Reason.MAIL_CAPPED:
        return mail_cap_message(refusal)
    possible_at = resend_possible_at(flow) if flow is not None else None
    values = {"time": minute_text(possible_at) if possible_at else ""}
    if at_identity:
        return IDENTITY_REFUSED[refusal.reason] % {**values, "n": settings.FLOW_MAX_RESENDS + 1}
    return RESEND_REFUSED[refusal.reason] % {**values, "n": settings.FLOW_MAX_RESENDS}


def wrong_key_message(refusal: Refused) -> str:
    return _(
        "認証キーが正しくありません。メールに記載された認証キーを確認して入力してください"
        "（あと%(n)d回間違えると手続きが無効になります）。"
        "新しい認証キーを再送信した場合は、最新のメールの認証キーを入力してください。"
    ) % {"n": refusal.tries_left}


KEY_EXPIRED_MESSAGE = gettext_lazy(
    "認証キーの有効期限（メール配信から%(minutes)d分）が切れています。"
    "「認証キーを再送信する」で新しい認証キーを受け取るか、はじめからやり直してください。"
)
