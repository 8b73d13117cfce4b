"""Passkeys (WebAuthn, through py_webauthn): adding one on My Page, logging in with one,
renaming, removing and disabling them.

The ceremonies' state (purpose, challenge, when it was issued, the account for an add or a
re-authentication) is returned to the caller, which keeps it in the session and pops it before
calling a verify function: a challenge is answered at most once. Every change is one
transaction with its notice mail and audit event. A ceremony that does not verify raises
`Refused` (PASSKEY_FAILED, PASSKEY_EXPIRED, ...), mapped to messages by the views
(docs/architecture.md, "Refusals"). The WebAuthn challenge is py_webauthn's, checked by its
signature verification: it is not a mailed code (portal/core/mailed_codes.py)."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
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

from portal.accounts.models import LoginEvent
from portal.accounts.selectors import jobseeker_of, login_lock_status, mypage_allowed
from portal.accounts.services.login import login_password_attempt
from portal.accounts.staff_auth import staff_allowed, staff_login_complete
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.core.ratelimit import rate_limit_exceeded
from portal.core.refusal import Reason, Refused
from portal.jobseekers.language import jobseeker_mail_language
from portal.mail.services import mail_queue
from portal.passkeys.models import Passkey
from portal.passkeys.selectors import passkey_count, passkey_default_name, passkey_list

NAME_MAX_LENGTH = 64


class Purpose(StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    REAUTH = "reauth"
    STAFF_LOGIN = "staff_login"


def _refused() -> Refused:
    # Never tells an unknown credential apart from a bad signature.
    return Refused(Reason.PASSKEY_FAILED)


def _expired() -> Refused:
    return Refused(Reason.PASSKEY_EXPIRED)


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


def _audit(
    action: str, passkey: Passkey, *, actor=None, origin: RequestOrigin = NO_REQUEST, **detail
) -> None:
    audit_event_record(
        action,
        actor=actor,
        target_type="user",
        target_id=str(passkey.user_id),
        origin=origin,
        detail={"passkey": passkey.pk, "name": passkey.name, **detail},
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


def _credential_dict(credential_json: str) -> dict:
    try:
        data = json.loads(credential_json)
    except (TypeError, ValueError):
        raise _refused() from None
    if not isinstance(data, dict):
        raise _refused()
    return data


def passkey_register(
    user, state: dict | None, credential_json: str, *, name: str, origin: RequestOrigin
) -> Passkey:
    """Adds a passkey. Raises Refused: PASSKEY_EXPIRED, PASSKEY_FAILED,
    PASSKEY_NOT_DISCOVERABLE, PASSKEY_LIMIT, PASSKEY_DUPLICATE."""
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
        raise Refused(Reason.PASSKEY_NOT_DISCOVERABLE)
    if passkey_count(user) >= settings.PASSKEYS_PER_ACCOUNT:
        raise Refused(Reason.PASSKEY_LIMIT)
    transports = (data.get("response") or {}).get("transports") or []
    known = {t.value for t in AuthenticatorTransport}
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=(name or "").strip()[:NAME_MAX_LENGTH]
                or passkey_default_name(origin.user_agent),
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
            _audit("passkey.added", passkey, actor=user, origin=origin)
    except IntegrityError:
        raise Refused(Reason.PASSKEY_DUPLICATE) from None
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


def _passkey_disable(passkey: Passkey, *, origin: RequestOrigin, received: int) -> None:
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
            origin=origin,
            reason="sign_count_backwards",
            stored=locked.sign_count,
            received=received,
        )


def _passkey_verify(
    state, credential_json: str, purpose: Purpose, *, user=None, origin: RequestOrigin
):
    """Verifies an assertion; returns the (locked) passkey, or raises Refused. An
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
        _passkey_disable(passkey, origin=origin, received=new)
        raise _refused()
    return passkey, verified


def _passkey_used(passkey: Passkey, verified, *, origin: RequestOrigin, purpose: Purpose) -> None:
    with transaction.atomic():
        Passkey.objects.filter(pk=passkey.pk).update(
            sign_count=verified.new_sign_count,
            backed_up=verified.credential_backed_up,
            last_used_at=clock.now(),
        )
        _audit("passkey.used", passkey, actor=passkey.user, origin=origin, purpose=str(purpose))


def passkey_login_verify(state: dict | None, credential_json: str, *, origin: RequestOrigin):
    """The passkey login; returns the account, which the caller logs in with login_complete
    (outcome passkey). A locked ID is refused as with a password; an account that may not use
    the My Page (mypage_allowed: pending, suspended, closed, staff) gets the same answer as a
    bad passkey. Raises Refused: RATE_LIMITED, PASSKEY_EXPIRED, PASSKEY_FAILED, LOCKED (with
    locked_until)."""
    return _login_verify(
        state, credential_json, origin=origin, purpose=Purpose.LOGIN, allowed=mypage_allowed
    )


def passkey_staff_login_verify(state: dict | None, credential_json: str, *, origin: RequestOrigin):
    """The staff admin's passkey login (instead of the password and the mailed one-time
    password): only an active staff account; the caller logs it in with passkey_staff_login.
    Raises Refused as passkey_login_verify."""
    return _login_verify(
        state, credential_json, origin=origin, purpose=Purpose.STAFF_LOGIN, allowed=staff_allowed
    )


def passkey_staff_login(request, user) -> None:
    """Logs a staff member in on this request, as the staff login's second step does, with a
    login event marked passkey: a verified passkey stands for the password and the one-time
    password together."""
    staff_login_complete(request, user, outcome=LoginEvent.Outcome.PASSKEY)


def _login_verify(state, credential_json, *, origin: RequestOrigin, purpose, allowed):
    if rate_limit_exceeded(
        "login-ip",
        origin.ip_key,
        limit=settings.LOGIN_ATTEMPTS_PER_IP_PER_HOUR,
        window_seconds=3600,
    ):
        raise Refused(Reason.RATE_LIMITED)
    passkey, verified = _passkey_verify(state, credential_json, purpose, origin=origin)
    user = passkey.user
    lock = login_lock_status(user.email, origin)
    if lock.locked:
        raise Refused(Reason.LOCKED, locked_until=lock.locked_until)
    if not allowed(user):
        raise _refused()
    _passkey_used(passkey, verified, origin=origin, purpose=purpose)
    return user


LOGIN_OUTCOME = LoginEvent.Outcome.PASSKEY


def passkey_reauth_verify(
    user, state: dict | None, credential_json: str, *, origin: RequestOrigin
) -> None:
    """Re-authentication of a logged-in account with one of its own passkeys; raises
    Refused(PASSKEY_EXPIRED / PASSKEY_FAILED) for anything else (another account's passkey
    included)."""
    passkey, verified = _passkey_verify(
        state, credential_json, Purpose.REAUTH, user=user, origin=origin
    )
    _passkey_used(passkey, verified, origin=origin, purpose=Purpose.REAUTH)


def passkey_reauth_password(user, password: str, *, origin: RequestOrigin) -> None:
    """Re-authentication with the password: a wrong one counts toward the lockout like a
    failed login. Raises Refused: LOCKED (already locked), LOGIN_FAILED."""
    login_password_attempt(
        user.email,
        password,
        user=user,
        origin=origin,
        allowed=staff_allowed if user.is_staff else mypage_allowed,
        channel=LoginEvent.Channel.STAFF if user.is_staff else LoginEvent.Channel.MYPAGE,
    )


# --- Renaming and removing ---------------------------------------------------------------------


def passkey_rename(user, passkey_id, name: str, *, origin: RequestOrigin) -> Passkey | None:
    with transaction.atomic():
        passkey = Passkey.objects.select_for_update().filter(user=user, pk=passkey_id).first()
        if passkey is None:
            return None
        old = passkey.name
        passkey.name = name.strip()[:NAME_MAX_LENGTH] or old
        passkey.save(update_fields=["name"])
        _audit("passkey.renamed", passkey, actor=user, origin=origin, old_name=old)
    return passkey


def passkey_remove(user, passkey_id, *, actor=None, origin: RequestOrigin = NO_REQUEST) -> bool:
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
        _audit("passkey.removed", passkey, actor=actor or user, origin=origin)
        passkey.delete()
    return True


def passkeys_remove_all(
    user, *, actor=None, origin: RequestOrigin = NO_REQUEST, reason: str = ""
) -> int:
    """Removes every passkey of an account (the counter's e-mail change, a staff member's
    removal, a registration taking over an address). Audited per passkey; no mail here: the
    caller's own notice says it."""
    with transaction.atomic():
        passkeys = list(Passkey.objects.select_for_update().filter(user=user))
        for passkey in passkeys:
            _audit("passkey.removed", passkey, actor=actor, origin=origin, reason=reason)
        Passkey.objects.filter(pk__in=[p.pk for p in passkeys]).delete()
    return len(passkeys)
