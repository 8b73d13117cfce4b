"""Passkeys (WebAuthn, through py_webauthn): adding one on My Page, logging in with one,
renaming, removing and disabling them.

The ceremonies' state (purpose, challenge, when it was issued, the account for an add or a
re-authentication) is returned to the caller, which keeps it in the session and pops it before
calling a verify function: a challenge is answered at most once. Every change is one
transaction with its notice mail and audit event."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.parse_authentication_credential_json import (
    parse_authentication_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portal.accounts.models import LoginEvent, UserSession
from portal.accounts.services import (
    PasswordAttempt,
    jobseeker_of,
    login_lock_status,
    login_password_attempt,
    mypage_allowed,
)
from portal.accounts.staff_auth import staff_login_complete
from portal.accounts.user_agents import browser_label
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.ratelimit import rate_limit_exceeded
from portal.jobseekers.language import jobseeker_mail_language
from portal.mail.services import mail_queue
from portal.passkeys.models import Passkey

NAME_MAX_LENGTH = 64


class Purpose(StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    REAUTH = "reauth"
    STAFF_LOGIN = "staff_login"


class PasskeyRefused(Exception):
    """A passkey ceremony that did not verify. The message is safe to show; it never tells an
    unknown credential apart from a bad signature."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.expired = expired


def _refused() -> PasskeyRefused:
    return PasskeyRefused(
        _(
            "パスキーを確認できませんでした。もう一度お試しいただくか、"
            "IDとパスワードでログインしてください。"
        )
    )


def _expired() -> PasskeyRefused:
    return PasskeyRefused(
        _("パスキーの確認に時間がかかりすぎました。もう一度お試しください。"), expired=True
    )


def _state(purpose: Purpose, challenge: bytes, user=None) -> dict:
    return {
        "purpose": str(purpose),
        "challenge": bytes_to_base64url(challenge),
        "issued": clock.now().timestamp(),
        "user": user.pk if user is not None else None,
    }


def _challenge_of(state: dict | None, purpose: Purpose, user=None) -> bytes:
    """The challenge of a pending ceremony; refuses a missing (already answered), expired or
    other ceremony's state."""
    if not state or state.get("purpose") != purpose:
        raise _expired()
    if user is not None and state.get("user") != user.pk:
        raise _refused()
    issued = dt.datetime.fromtimestamp(float(state["issued"]), tz=dt.UTC)
    if clock.now() - issued > dt.timedelta(seconds=settings.WEBAUTHN_CHALLENGE_SECONDS):
        raise _expired()
    return base64url_to_bytes(state["challenge"])


def _user_handle(user) -> bytes:
    # Stable per account and meaningless outside this service: never the e-mail address.
    return salted_hmac("portal.passkeys.user_handle", str(user.pk), algorithm="sha256").digest()


def _mail_context(user, passkey: Passkey, **extra) -> dict:
    jobseeker = jobseeker_of(user)
    return {
        "name": jobseeker.name if jobseeker else "",
        "passkey_name": passkey.name,
        "at": timezone.localtime(clock.now()),
        **extra,
    }


def _mail_language(user) -> str:
    """A job seeker's notice in their own language; a staff member's in the page's."""
    return jobseeker_mail_language(jobseeker_of(user), translation.get_language())


def _audit(action: str, passkey: Passkey, *, actor=None, ip=None, **detail) -> None:
    audit_event_record(
        action,
        actor=actor,
        target_type="user",
        target_id=str(passkey.user_id),
        ip=ip,
        detail={"passkey": passkey.pk, "name": passkey.name, **detail},
    )


# --- Reads ------------------------------------------------------------------------------------


def passkey_list(user):
    return Passkey.objects.filter(user=user).order_by("created_at", "id")


def passkey_get(user, passkey_id) -> Passkey | None:
    return Passkey.objects.filter(user=user, pk=passkey_id).first()


def passkey_count(user) -> int:
    return Passkey.objects.filter(user=user).count()


def passkey_recent_login(user, session_key: str | None, reauth_at: float | None) -> bool:
    """Whether this session logged in (with a password and one-time password, or a passkey)
    or re-authenticated within PASSKEY_RECENT_LOGIN_MINUTES."""
    since = clock.now() - dt.timedelta(minutes=settings.PASSKEY_RECENT_LOGIN_MINUTES)
    if reauth_at is not None and float(reauth_at) >= since.timestamp():
        return True
    return bool(
        session_key
        and UserSession.objects.filter(
            user=user, session_key=session_key, created_at__gte=since
        ).exists()
    )


# --- Adding -----------------------------------------------------------------------------------


def passkey_registration_options(user) -> tuple[dict, dict]:
    """The options for navigator.credentials.create (as JSON-ready dict) and the state."""
    options = generate_registration_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=_user_handle(user),
        user_name=user.email,
        user_display_name=user.email,
        timeout=settings.WEBAUTHN_CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
            for p in passkey_list(user)
        ],
    )
    data = options_to_json_dict(options)
    # credProps tells whether the authenticator really made a discoverable credential.
    data["extensions"] = {"credProps": True}
    return data, _state(Purpose.REGISTER, options.challenge, user)


def passkey_default_name(user_agent: str) -> str:
    return _("%(browser)sのパスキー") % {"browser": browser_label(user_agent)}


def _credential_dict(credential_json: str) -> dict:
    try:
        data = json.loads(credential_json)
    except (TypeError, ValueError):
        raise _refused() from None
    if not isinstance(data, dict):
        raise _refused()
    return data


def passkey_register(
    user, state: dict | None, credential_json: str, *, name: str, ip=None, user_agent=""
) -> Passkey:
    challenge = _challenge_of(state, Purpose.REGISTER, user)
    data = _credential_dict(credential_json)
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=settings.WEBAUTHN_ORIGINS,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise _refused() from None
    props = (data.get("clientExtensionResults") or {}).get("credProps") or {}
    if props.get("rk") is False:
        raise PasskeyRefused(
            _(
                "この認証器ではパスキー（ログインIDを入力せずに使える認証情報）を作れません"
                "でした。別の端末や認証器でお試しください。"
            )
        )
    if passkey_count(user) >= settings.PASSKEYS_PER_ACCOUNT:
        raise PasskeyRefused(
            _("パスキーは%(n)d個まで登録できます。使わないパスキーを削除してから追加してください。")
            % {"n": settings.PASSKEYS_PER_ACCOUNT}
        )
    transports = (data.get("response") or {}).get("transports") or []
    known = {t.value for t in AuthenticatorTransport}
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=(name or "").strip()[:NAME_MAX_LENGTH] or passkey_default_name(user_agent),
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                user_handle=bytes_to_base64url(_user_handle(user)),
                sign_count=verified.sign_count,
                transports=[t for t in transports if t in known],
                backed_up=verified.credential_backed_up,
                created_at=clock.now(),
            )
            mail_queue(
                to=user.email,
                kind="passkey_added",
                context=_mail_context(user, passkey),
                language=_mail_language(user),
            )
            _audit("passkey.added", passkey, actor=user, ip=ip)
    except IntegrityError:
        raise PasskeyRefused(_("このパスキーはすでに登録されています。")) from None
    return passkey


# --- Using ------------------------------------------------------------------------------------


def passkey_authentication_options(purpose: Purpose, user=None) -> tuple[dict, dict]:
    """Options for navigator.credentials.get: no allowCredentials (discoverable passkeys),
    user verification required."""
    options = generate_authentication_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        timeout=settings.WEBAUTHN_CHALLENGE_SECONDS * 1000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json_dict(options), _state(purpose, options.challenge, user)


def _passkey_disable(passkey: Passkey, *, ip, received: int) -> None:
    with transaction.atomic():
        locked = Passkey.objects.select_for_update().get(pk=passkey.pk)
        if locked.disabled_at is not None:
            return
        locked.disabled_at = clock.now()
        locked.save(update_fields=["disabled_at"])
        mail_queue(
            to=locked.user.email,
            kind="passkey_disabled",
            context=_mail_context(locked.user, locked),
            language=_mail_language(locked.user),
        )
        _audit(
            "passkey.disabled",
            locked,
            ip=ip,
            reason="sign_count_backwards",
            stored=locked.sign_count,
            received=received,
        )


def _passkey_verify(state, credential_json: str, purpose: Purpose, *, user=None, ip=None):
    """Verifies an assertion; returns the (locked) passkey, or raises PasskeyRefused. An
    unknown, disabled or removed credential, a bad signature, a wrong origin or RP ID and a
    missing user verification all give the same refusal."""
    challenge = _challenge_of(state, purpose, user)
    data = _credential_dict(credential_json)
    try:
        credential = parse_authentication_credential_json(data)
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise _refused() from None
    passkey = (
        Passkey.objects.select_related("user")
        .filter(credential_id=bytes_to_base64url(credential.raw_id), disabled_at__isnull=True)
        .first()
    )
    if passkey is None or (user is not None and passkey.user_id != user.pk):
        raise _refused()
    handle = credential.response.user_handle
    if handle is not None and bytes_to_base64url(handle) != passkey.user_handle:
        raise _refused()
    try:
        # The sign count is compared below, after the signature is known to be good, so a
        # forged response cannot disable someone's passkey.
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=settings.WEBAUTHN_ORIGINS,
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise _refused() from None
    new, stored = verified.new_sign_count, passkey.sign_count
    # Counters of 0 on both sides are normal (synced passkeys); otherwise the count must grow
    # (WebAuthn §7.2 step 21): if not, the credential may have been cloned.
    if (new or stored) and new <= stored:
        _passkey_disable(passkey, ip=ip, received=new)
        raise _refused()
    return passkey, verified


def _passkey_used(passkey: Passkey, verified, *, ip, purpose: Purpose) -> None:
    with transaction.atomic():
        Passkey.objects.filter(pk=passkey.pk).update(
            sign_count=verified.new_sign_count,
            backed_up=verified.credential_backed_up,
            last_used_at=clock.now(),
        )
        _audit("passkey.used", passkey, actor=passkey.user, ip=ip, purpose=str(purpose))


class PasskeyLoginStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    EXPIRED = "expired"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"


@dataclass
class PasskeyLoginResult:
    status: PasskeyLoginStatus
    user: object = None
    message: str = ""
    locked_until: dt.datetime | None = None


def passkey_login_verify(
    state: dict | None, credential_json: str, *, ip: str | None
) -> PasskeyLoginResult:
    """The passkey login: on OK the caller logs the account in with login_complete (outcome
    passkey). A locked ID is refused as with a password; an account that may not use the My
    Page (mypage_allowed: pending, suspended, closed, staff) gets the same answer as a bad
    passkey."""
    return _login_verify(
        state, credential_json, ip=ip, purpose=Purpose.LOGIN, allowed=mypage_allowed
    )


def _staff_allowed(user) -> bool:
    return user.is_active and user.is_staff


def passkey_staff_login_verify(
    state: dict | None, credential_json: str, *, ip: str | None
) -> PasskeyLoginResult:
    """The staff admin's passkey login (instead of the password and the mailed one-time
    password): only an active staff account; the caller logs it in with passkey_staff_login."""
    return _login_verify(
        state, credential_json, ip=ip, purpose=Purpose.STAFF_LOGIN, allowed=_staff_allowed
    )


def passkey_staff_login(request, user) -> None:
    """Logs a staff member in on this request, as the staff login's second step does, with a
    login event marked passkey: a verified passkey stands for the password and the one-time
    password together."""
    staff_login_complete(request, user, outcome=LoginEvent.Outcome.PASSKEY)


def _login_verify(state, credential_json, *, ip, purpose, allowed) -> PasskeyLoginResult:
    if rate_limit_exceeded(
        "login-ip", ip or "", limit=settings.LOGIN_ATTEMPTS_PER_IP_PER_HOUR, window_seconds=3600
    ):
        return PasskeyLoginResult(PasskeyLoginStatus.RATE_LIMITED)
    try:
        passkey, verified = _passkey_verify(state, credential_json, purpose, ip=ip)
    except PasskeyRefused as exc:
        status = PasskeyLoginStatus.EXPIRED if exc.expired else PasskeyLoginStatus.FAILED
        return PasskeyLoginResult(status, message=exc.message)
    user = passkey.user
    lock = login_lock_status(user.email, ip)
    if lock.locked:
        return PasskeyLoginResult(PasskeyLoginStatus.LOCKED, locked_until=lock.locked_until)
    if not allowed(user):
        return PasskeyLoginResult(PasskeyLoginStatus.FAILED, message=_refused().message)
    _passkey_used(passkey, verified, ip=ip, purpose=purpose)
    return PasskeyLoginResult(PasskeyLoginStatus.OK, user=user)


LOGIN_OUTCOME = LoginEvent.Outcome.PASSKEY


def passkey_reauth_verify(user, state: dict | None, credential_json: str, *, ip=None) -> None:
    """Re-authentication of a logged-in account with one of its own passkeys; raises
    PasskeyRefused for anything else (another account's passkey included)."""
    passkey, verified = _passkey_verify(state, credential_json, Purpose.REAUTH, user=user, ip=ip)
    _passkey_used(passkey, verified, ip=ip, purpose=Purpose.REAUTH)


def passkey_reauth_password(user, password: str, *, ip=None, user_agent="") -> PasswordAttempt:
    """Re-authentication with the password: a wrong one counts toward the lockout like a
    failed login."""
    attempt, _lock = login_password_attempt(
        user.email,
        password,
        user=user,
        ip=ip,
        user_agent=user_agent,
        allowed=_staff_allowed if user.is_staff else mypage_allowed,
        channel=LoginEvent.Channel.STAFF if user.is_staff else LoginEvent.Channel.MYPAGE,
    )
    return attempt


# --- Renaming and removing ---------------------------------------------------------------------


def passkey_rename(user, passkey_id, name: str, *, ip=None) -> Passkey | None:
    with transaction.atomic():
        passkey = Passkey.objects.select_for_update().filter(user=user, pk=passkey_id).first()
        if passkey is None:
            return None
        old = passkey.name
        passkey.name = name.strip()[:NAME_MAX_LENGTH] or old
        passkey.save(update_fields=["name"])
        _audit("passkey.renamed", passkey, actor=user, ip=ip, old_name=old)
    return passkey


def passkey_remove(user, passkey_id, *, actor=None, ip=None) -> bool:
    with transaction.atomic():
        passkey = Passkey.objects.select_for_update().filter(user=user, pk=passkey_id).first()
        if passkey is None:
            return False
        mail_queue(
            to=user.email,
            kind="passkey_removed",
            context=_mail_context(user, passkey),
            language=_mail_language(user),
        )
        _audit("passkey.removed", passkey, actor=actor or user, ip=ip)
        passkey.delete()
    return True


def passkeys_remove_all(user, *, actor=None, ip=None, reason: str = "") -> int:
    """Removes every passkey of an account (the counter's e-mail change, a staff member's
    removal, a registration taking over an address). Audited per passkey; no mail here: the
    caller's own notice says it."""
    with transaction.atomic():
        passkeys = list(Passkey.objects.select_for_update().filter(user=user))
        for passkey in passkeys:
            _audit("passkey.removed", passkey, actor=actor, ip=ip, reason=reason)
        Passkey.objects.filter(pk__in=[p.pk for p in passkeys]).delete()
    return len(passkeys)
