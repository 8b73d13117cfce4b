"""The stages of a registration (or password reset) flow and the moves between them.

    ① terms ──agree──► TERMS_AGREED ──② identity──► KEY_SENT ──③ right key + password──► COMPLETED ④
                            ▲                         │  │ ▲
                            └──── change address ─────┘  │ └── resend (new key, old one dead)
                                                          │
      expiry (flow 2 h / key 50 min after delivery),      ▼
      5 wrong keys, another flow completed ─────────►  ENDED  ──► start over at ①

A flow lives in the database; the browser's session holds only its id, so a key is only ever
checked against the flow of the browser that asked for it.
"""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    TERMS_AGREED = "terms_agreed", _("利用規約に同意済み")
    KEY_SENT = "key_sent", _("認証キー送信済み")
    COMPLETED = "completed", _("完了")
    ENDED = "ended", _("終了")


class Purpose(models.TextChoices):
    REGISTER = "register", _("パスワード登録")
    RESET = "reset", _("パスワード再設定")


class EndReason(StrEnum):
    TOO_MANY_WRONG_KEYS = "too_many_wrong_keys"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # the job seeker completed another flow
    EMAIL_CHANGED = "email_changed"
    ACCOUNT_CONFLICT = "account_conflict"  # the address belongs to an account it cannot take


ALLOWED = {
    Stage.TERMS_AGREED: {Stage.KEY_SENT, Stage.ENDED},
    Stage.KEY_SENT: {Stage.KEY_SENT, Stage.TERMS_AGREED, Stage.COMPLETED, Stage.ENDED},
    Stage.COMPLETED: set(),
    Stage.ENDED: set(),
}


class TransitionError(Exception):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"flow cannot move from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: str, wanted: str) -> None:
    if wanted not in ALLOWED[Stage(current)]:
        raise TransitionError(current, wanted)


# Which screen a flow at each stage belongs on (URL names in portal/registration/urls.py).
SCREEN_FOR_STAGE = {
    Purpose.REGISTER: {
        None: "registration:terms",
        Stage.TERMS_AGREED: "registration:identity",
        Stage.KEY_SENT: "registration:password",
        Stage.COMPLETED: "registration:done",
        Stage.ENDED: "registration:terms",
    },
    Purpose.RESET: {
        None: "registration:reset_start",
        Stage.TERMS_AGREED: "registration:reset_start",
        Stage.KEY_SENT: "registration:reset_password",
        Stage.COMPLETED: "registration:reset_done",
        Stage.ENDED: "registration:reset_start",
    },
}
