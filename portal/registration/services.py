"""The registration (and password reset) flow: every state change is one transaction, and the
final step re-checks every earlier fact under a row lock (docs/architecture.md,
"Registration and password reset")."""

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from portal.accounts.services.password import account_after_password_reset
from portal.audit.feed import feed_event_record
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.mailed_codes import (
    code_digest,
    code_generate,
    code_resend_check,
    code_wrong_try,
)
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.core.ratelimit import Limit, rate_limit_exceeded, rate_limits_exceeded
from portal.core.refusal import Reason, Refused
from portal.core.text import normalize_email
from portal.jobseekers.language import jobseeker_language_set, jobseeker_mail_language
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue
from portal.passkeys.selectors import passkey_list
from portal.passkeys.services import passkeys_remove_all
from portal.registration.answers import STATUS_GETTING_KEY, identity_answer
from portal.registration.flow import EndReason, Purpose, Stage, check_transition
from portal.registration.keys import key_namespace, key_rules, key_state
from portal.registration.mail_cap import flow_mail_cap_check
from portal.registration.models import RegistrationFlow
from portal.registration.terms import terms_versions

# Reference shown on screen ③ and printed in the key mail: unambiguous letters and digits.
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _new_reference() -> str:
    raw = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _move(flow: RegistrationFlow, stage: Stage, **changes) -> None:
    """Moves the flow to `stage` and writes the stage and `changes` (only those columns)."""
    check_transition(flow.stage, stage)
    flow.stage = stage
    for name, value in changes.items():
        setattr(flow, name, value)
    flow.updated_at = clock.now()
    flow.save(update_fields=["stage", "updated_at", *changes])


def flow_start(
    purpose: Purpose,
    *,
    privacy_version: str = "",
    terms_version: str = "",
    origin: RequestOrigin = NO_REQUEST,
) -> RegistrationFlow:
    """① (or the reset's first screen): a new flow, with the versions of the terms agreed.

    A registration is refused (Refused) when the terms changed since the page showed them
    (TERMS_OUTDATED) or when this address started too many flows in the hour (RATE_LIMITED)."""
    if purpose == Purpose.REGISTER:
        current = terms_versions()
        if (privacy_version, terms_version) != (
            current["privacy_version"],
            current["terms_version"],
        ):
            raise Refused(Reason.TERMS_OUTDATED)
        if rate_limit_exceeded(
            "flow-start-ip",
            origin.ip_key,
            limit=settings.FLOW_STARTS_PER_IP_PER_HOUR,
            window_seconds=3600,
        ):
            raise Refused(Reason.RATE_LIMITED)
    now = clock.now()
    with transaction.atomic():
        flow = RegistrationFlow.objects.create(
            reference=_new_reference(),
            purpose=purpose,
            stage=Stage.TERMS_AGREED,
            started_at=now,
            expires_at=now + dt.timedelta(minutes=settings.FLOW_MAX_LIFETIME_MINUTES),
            privacy_version=privacy_version,
            terms_version=terms_version,
            updated_at=now,
        )
        audit_event_record(
            f"{purpose}.started",
            target_type="flow",
            target_id=flow.reference,
            origin=origin,
            detail={"privacy_version": privacy_version, "terms_version": terms_version},
        )
    return flow


def flow_end_if_expired(flow: RegistrationFlow | None) -> RegistrationFlow | None:
    """Ends an unfinished flow past its lifetime (a write, under the flow's row lock); returns
    the flow as it stands afterwards. Takes what portal.registration.selectors.flow_get read."""
    if flow is None:
        return None
    if flow.stage in (Stage.TERMS_AGREED, Stage.KEY_SENT) and clock.now() > flow.expires_at:
        with transaction.atomic():
            locked = RegistrationFlow.objects.select_for_update().get(pk=flow.pk)
            if locked.stage in (Stage.TERMS_AGREED, Stage.KEY_SENT):
                _move(locked, Stage.ENDED, ended_reason=EndReason.EXPIRED, key_hash=None)
        flow.refresh_from_db()
    return flow


# --- ② identity -------------------------------------------------------------------------------


def _issue_key(flow: RegistrationFlow, *, kind: str, deliver: bool, with_key: bool, language: str):
    """Makes a new key, queues the mail of this answer, and returns the key's HMAC and the mail.

    Every path does the same work: a key is made and hashed even where no mail will carry it
    (so no key can ever work for that flow), and exactly one outbox row is written."""
    key = code_generate(key_rules())
    mail = mail_queue(
        to=flow.email,
        kind=kind,
        context={
            "reference": flow.reference,
            "lifetime_minutes": settings.AUTH_KEY_LIFETIME_MINUTES,
        },
        secret=key if with_key else None,
        secret_valid_minutes=settings.AUTH_KEY_LIFETIME_MINUTES if with_key else None,
        deliver=deliver,
        language=language,
    )
    return code_digest(key_namespace(flow), flow.pk, key), mail


def _resend_check(flow: RegistrationFlow, now: dt.datetime, *, cooldown: bool = True) -> None:
    """Raises Refused(RESEND_LIMIT or RESEND_TOO_SOON) when no new key may be sent now."""
    code_resend_check(
        key_rules(),
        resends=flow.resends,
        last_sent_at=flow.key_requested_at,
        now=now,
        cooldown=cooldown,
    )


def _supersede_key_mail(flow: RegistrationFlow) -> None:
    """A new key makes the previous key mail pointless: if it is still in the outbox (SMTP
    down), it is never sent. The same statement runs for every flow that had a key mail (a
    flow's first ② has none, whatever the register says)."""
    if flow.key_mail_id is not None:
        OutboundMail.objects.filter(pk=flow.key_mail_id, status=OutboundMail.Status.QUEUED).update(
            status=OutboundMail.Status.SUPERSEDED
        )


def flow_submit_identity(
    flow: RegistrationFlow | None,
    *,
    purpose: Purpose,
    email: str,
    birth_date: dt.date,
    origin: RequestOrigin = NO_REQUEST,
    language: str | None = None,
) -> RegistrationFlow:
    """② → ③. Looks up the register and queues the one mail this answer gets.

    Only a flow at ② takes it: a repeat (double click, a second tab) leaves the first answer
    standing. A flow that comes back to ② to change the address has had a key already, so
    this one counts as a resend, with the resend's cool-down and cap.

    `flow` None (the reset's first screen) starts a reset flow once the rate limits have let
    the request through, so a refused request starts none. Returns the flow; raises Refused
    (RATE_LIMITED, RESEND_TOO_SOON, RESEND_LIMIT, MAIL_CAPPED with lifts_at)."""
    if any(
        rate_limits_exceeded(
            Limit(
                "identity-ip",
                origin.ip_key,
                settings.IDENTITY_SUBMISSIONS_PER_IP_PER_HOUR,
                3600,
            ),
            Limit(
                "identity-address", email, settings.IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR, 3600
            ),
        )
    ):
        raise Refused(Reason.RATE_LIMITED)
    if flow is None:
        flow = flow_start(purpose, origin=origin)
    try:
        return _submit_identity_locked(flow, email, birth_date, origin=origin, language=language)
    except Refused as refusal:
        refusal.subject = flow  # the flow stays this browser's (one may just have started)
        raise


def _submit_identity_locked(flow, email, birth_date, *, origin, language):
    address = normalize_email(email)
    now = clock.now()
    with transaction.atomic():
        flow = RegistrationFlow.objects.select_for_update().get(pk=flow.pk)
        if flow.stage != Stage.TERMS_AGREED:
            return flow
        resends = flow.resends
        if flow.key_requested_at is not None:
            # A corrected address may be sent at once; the same address again waits.
            _resend_check(flow, now, cooldown=address == flow.email)
            resends += 1
        jobseeker = JobSeeker.objects.filter(email__lower=address).first()
        kind, deliver, with_key = identity_answer(Purpose(flow.purpose), jobseeker, birth_date)
        flow_mail_cap_check(address, with_key=with_key)
        flow.email = address
        _supersede_key_mail(flow)
        # The key mail in the page's language; a notice in its addressee's own. Nothing is
        # written to the job seeker here (portal.jobseekers.language).
        mail_language = language if with_key else jobseeker_mail_language(jobseeker, language)
        digest, mail = _issue_key(
            flow, kind=kind, deliver=deliver, with_key=with_key, language=mail_language
        )
        _move(
            flow,
            Stage.KEY_SENT,
            email=address,
            jobseeker=jobseeker if with_key else None,
            key_hash=digest,
            key_mail=mail,
            key_requested_at=now,
            mail_kind=kind,
            mail_deliver=deliver,
            resends=resends,
        )
        audit_event_record(
            f"{flow.purpose}.identity_submitted",
            target_type="flow",
            target_id=flow.reference,
            origin=origin,
            detail={"mail": mail.kind, "mail_status": mail.status},
        )
    return flow


def flow_resend_key(
    flow: RegistrationFlow, *, origin: RequestOrigin = NO_REQUEST, language: str | None = None
) -> None:
    """A new key (the old one stops working) with a cool-down and a cap; the wrong-key count
    carries over. Raises Refused (RESEND_TOO_SOON, RESEND_LIMIT, MAIL_CAPPED)."""
    now = clock.now()
    with transaction.atomic():
        flow = RegistrationFlow.objects.select_for_update().get(pk=flow.pk)
        check_transition(flow.stage, Stage.KEY_SENT)
        _resend_check(flow, now)
        flow_mail_cap_check(flow.email, with_key=flow.jobseeker_id is not None)
        _supersede_key_mail(flow)
        # The same answer as ② gave, with a new key: a real flow gets a new working key, any
        # other flow the same notice (or the same suppressed row) again.
        with_key = flow.jobseeker_id is not None
        # Looked up on every path, so a resend does the same work whatever the answer was.
        holder = JobSeeker.objects.filter(email__lower=flow.email).first()
        if not with_key:
            language = jobseeker_mail_language(holder, language)
        digest, mail = _issue_key(
            flow,
            kind=flow.mail_kind,
            deliver=flow.mail_deliver,
            with_key=with_key,
            language=language,
        )
        _move(
            flow,
            Stage.KEY_SENT,
            key_hash=digest,
            key_mail=mail,
            key_requested_at=now,
            resends=flow.resends + 1,
        )
        audit_event_record(
            f"{flow.purpose}.key_resent",
            target_type="flow",
            target_id=flow.reference,
            origin=origin,
            detail={"mail": mail.kind, "mail_status": mail.status},
        )


def flow_change_address(flow: RegistrationFlow) -> RegistrationFlow:
    """③ → ②: the key is dropped; the wrong-key and resend counts stay with the flow."""
    with transaction.atomic():
        flow = RegistrationFlow.objects.select_for_update().get(pk=flow.pk)
        _move(flow, Stage.TERMS_AGREED, key_hash=None, jobseeker=None)
    return flow


def flow_end_for_jobseeker(jobseeker: JobSeeker, reason: str, *, except_flow_id=None) -> int:
    """Ends the job seeker's open flows (another flow completed, the address changed)."""
    open_flows = RegistrationFlow.objects.filter(
        jobseeker=jobseeker, stage__in=[Stage.TERMS_AGREED, Stage.KEY_SENT]
    )
    if except_flow_id is not None:
        open_flows = open_flows.exclude(pk=except_flow_id)
    return open_flows.update(
        stage=Stage.ENDED, ended_reason=reason, key_hash=None, updated_at=clock.now()
    )


# --- ③ key and password -----------------------------------------------------------------------


def _apply_password(
    flow: RegistrationFlow, jobseeker: JobSeeker, password_hash: str, origin: RequestOrigin
):
    """Sets the password; returns the account, or None when the address belongs to an account
    this job seeker cannot take (a staff account, or another job seeker's)."""
    User = get_user_model()
    if flow.purpose == Purpose.REGISTER:
        user = User.objects.select_for_update().filter(email=jobseeker.email.lower()).first()
        if user is None:
            user = User.objects.create(email=jobseeker.email.lower(), password=password_hash)
        elif user.is_staff or JobSeeker.objects.filter(user=user).exclude(pk=jobseeker.pk).exists():
            return None
        else:
            # An account left behind by an earlier registration of this person (deleted from
            # the register and registered again): it is theirs to take over. Passkeys made by
            # the address's earlier holder do not come with it.
            user.password = password_hash
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
            passkeys_remove_all(user, origin=origin, reason="registration_takeover")
        jobseeker.user = user
        jobseeker.status = JobSeeker.Status.ACTIVE
        jobseeker.updated_at = clock.now()
        jobseeker.save(update_fields=["user", "status", "updated_at"])
        feed_event_record("account_opened", number=jobseeker.number)
        return user
    user = User.objects.select_for_update().get(pk=jobseeker.user_id)
    user.password = password_hash
    user.save(update_fields=["password"])
    account_after_password_reset(user, origin=origin)
    return user


def _count_wrong_key(flow: RegistrationFlow, origin: RequestOrigin) -> Refused:
    wrong, attempts_left = code_wrong_try(flow.wrong_keys, key_rules())
    if attempts_left == 0:
        _move(
            flow,
            Stage.ENDED,
            wrong_keys=wrong,
            ended_reason=EndReason.TOO_MANY_WRONG_KEYS,
            key_hash=None,
        )
        audit_event_record(
            f"{flow.purpose}.too_many_wrong_keys",
            target_type="flow",
            target_id=flow.reference,
            origin=origin,
        )
        return Refused(Reason.TOO_MANY_WRONG_KEYS, subject=flow)
    _move(flow, Stage.KEY_SENT, wrong_keys=wrong)
    return Refused(Reason.WRONG_KEY, tries_left=attempts_left, subject=flow)


@sensitive_variables("key", "password", "password_hash")
def _complete_locked(
    peek: RegistrationFlow,
    *,
    key: str,
    password: str,
    password_hash: str | None,
    now: dt.datetime,
    origin: RequestOrigin,
    language: str | None,
) -> RegistrationFlow | Refused:
    """flow_complete's decision on the locked rows, in one transaction that commits whatever
    the answer: a refusal is returned, not raised, so the wrong try it counts is kept."""
    flow_id = peek.pk
    with transaction.atomic():
        jobseeker = None
        if peek.jobseeker_id is not None:
            jobseeker = JobSeeker.objects.select_for_update().get(pk=peek.jobseeker_id)
        flow = (
            RegistrationFlow.objects.select_for_update(of=("self",))
            .select_related("key_mail")
            .get(pk=flow_id)
        )
        if flow.stage == Stage.COMPLETED:
            return Refused(Reason.ALREADY_COMPLETED, subject=flow)
        if flow.stage == Stage.ENDED:
            return Refused(Reason.FLOW_ENDED, subject=flow)
        if flow.stage != Stage.KEY_SENT:
            return Refused(Reason.NOT_READY, subject=flow)
        if now > flow.expires_at:
            _move(flow, Stage.ENDED, ended_reason=EndReason.EXPIRED, key_hash=None)
            return Refused(Reason.FLOW_ENDED, subject=flow)
        usable, expired = key_state(flow, key, now)
        if usable and expired:
            return Refused(Reason.KEY_EXPIRED, subject=flow)
        if not usable or jobseeker is None or flow.jobseeker_id != jobseeker.pk:
            return _count_wrong_key(flow, origin)
        if (
            jobseeker.status != STATUS_GETTING_KEY[Purpose(flow.purpose)]
            or jobseeker.email.lower() != flow.email
        ):
            # The register changed since the key was sent: the account was opened in another
            # flow or suspended, or the counter corrected the address the key was mailed to.
            _move(flow, Stage.ENDED, ended_reason=EndReason.SUPERSEDED, key_hash=None)
            return Refused(Reason.FLOW_ENDED, subject=flow)
        user = _apply_password(flow, jobseeker, password_hash or make_password(password), origin)
        if user is None:
            _move(flow, Stage.ENDED, ended_reason=EndReason.ACCOUNT_CONFLICT, key_hash=None)
            audit_event_record(
                f"{flow.purpose}.account_conflict",
                target_type="jobseeker",
                target_id=jobseeker.number,
                origin=origin,
                detail={"flow": flow.reference},
            )
            return Refused(Reason.FLOW_ENDED, subject=flow)
        _move(flow, Stage.COMPLETED, completed_at=now, key_hash=None)
        flow_end_for_jobseeker(jobseeker, EndReason.SUPERSEDED, except_flow_id=flow.pk)
        # A completed key proves the person: the page's language becomes their own.
        jobseeker_language_set(jobseeker, language)
        mail_queue(
            to=jobseeker.email,
            kind=f"{'registration' if flow.purpose == Purpose.REGISTER else 'reset'}_completed",
            context={
                "name": jobseeker.name,
                "number": jobseeker.number,
                # A reset leaves passkeys in place; its notice names them.
                "passkeys": [passkey.name for passkey in passkey_list(user)],
            },
            language=jobseeker_mail_language(jobseeker),
        )
        audit_event_record(
            f"{flow.purpose}.completed",
            actor=user,
            target_type="jobseeker",
            target_id=jobseeker.number,
            origin=origin,
            detail={"flow": flow.reference},
        )
    return flow


@sensitive_variables("key", "password", "password_hash")
def flow_complete(
    flow: RegistrationFlow,
    *,
    key: str,
    password: str,
    origin: RequestOrigin = NO_REQUEST,
    language: str | None = None,
) -> RegistrationFlow:
    """③ → ④: checks the key against this browser's flow and sets the password. `flow` is the
    flow as this request read it (flow_get with its key mail); it decides whether the
    password is worth hashing, and everything is decided again on the locked rows.

    Everything is re-checked under row locks (the job seeker's, then the flow's: the same
    order everywhere, so two completions never deadlock), so two tabs or two servers sending
    the same key get exactly one success. An expired key is told apart from a wrong one only
    when it is the right key, so the answer never depends on whether a mail was due.

    Returns the completed flow; raises Refused (WRONG_KEY with tries_left, KEY_EXPIRED,
    TOO_MANY_WRONG_KEYS, FLOW_ENDED, ALREADY_COMPLETED, NOT_READY) once what the refusal
    changed (a wrong try counted, the flow ended) is committed."""
    now = clock.now()
    usable, expired = key_state(flow, key, now)
    # Argon2 is slow on purpose: spend it only on a key that can succeed, outside any lock.
    password_hash = make_password(password) if usable and not expired else None
    outcome = _complete_locked(
        flow,
        key=key,
        password=password,
        password_hash=password_hash,
        now=now,
        origin=origin,
        language=language,
    )
    if isinstance(outcome, Refused):
        raise outcome
    return outcome
