"""The registration (and password reset) flow: every state change is one transaction, and the
final step re-checks every earlier fact under a row lock (DESIGN §2)."""

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from portal.audit.feed import feed_event_record
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.text import normalize_email
from portal.jobseekers.language import jobseeker_language_set, jobseeker_mail_language
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue
from portal.registration.flow import EndReason, Purpose, Stage, check_transition
from portal.registration.keys import (
    key_digest,
    key_generate,
    key_mail_may_have_arrived,
    key_matches,
    key_started_at,
)
from portal.registration.mail_cap import MailCapped, flow_mail_capped
from portal.registration.models import RegistrationFlow

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
    ip: str | None = None,
) -> RegistrationFlow:
    """① (or the reset's first screen): a new flow, with the versions of the terms agreed."""
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
            ip=ip,
            detail={"privacy_version": privacy_version, "terms_version": terms_version},
        )
    return flow


def flow_resume(
    flow_id: int | None, purpose: Purpose, *, with_key_mail: bool = False
) -> RegistrationFlow | None:
    """The flow a browser's session points at; an unfinished flow past its lifetime ends.
    `with_key_mail`: its key mail read in the same query (③'s POST needs it)."""
    if flow_id is None:
        return None
    flows = RegistrationFlow.objects.filter(purpose=purpose)
    if with_key_mail:
        flows = flows.select_related("key_mail")
    flow = flows.filter(pk=flow_id).first()
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

# Which mail each answer to ② gets, per purpose. The answer on screen is always the same.
_MAIL_FOR = {
    Purpose.REGISTER: {
        "key": "registration_key",
        JobSeeker.Status.ACTIVE: "registration_already_open",
        JobSeeker.Status.LOCKED: "account_suspended",
    },
    Purpose.RESET: {
        "key": "reset_key",
        JobSeeker.Status.PENDING: "reset_not_open",
        JobSeeker.Status.LOCKED: "account_suspended",
    },
}
_STATUS_GETTING_KEY = {
    Purpose.REGISTER: JobSeeker.Status.PENDING,
    Purpose.RESET: JobSeeker.Status.ACTIVE,
}


def _identity_answer(purpose: Purpose, jobseeker: JobSeeker | None, birth_date: dt.date):
    """(mail kind, whether it is sent, whether it carries a working key) for an answer to ②."""
    if jobseeker is None or jobseeker.closed_at is not None:
        return "identity_mismatch", False, False
    if jobseeker.birth_date != birth_date:
        return "identity_mismatch", True, False
    if jobseeker.status == _STATUS_GETTING_KEY[purpose]:
        return _MAIL_FOR[purpose]["key"], True, True
    return _MAIL_FOR[purpose].get(jobseeker.status, "identity_mismatch"), True, False


def _issue_key(flow: RegistrationFlow, *, kind: str, deliver: bool, with_key: bool, language: str):
    """Makes a new key, queues the mail of this answer, and returns the key's HMAC and the mail.

    Every path does the same work: a key is made and hashed even where no mail will carry it
    (so no key can ever work for that flow), and exactly one outbox row is written."""
    key = key_generate()
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
    return key_digest(flow.purpose, flow.pk, key), mail


class IdentityRefused(enum.Enum):
    TOO_SOON = "too_soon"  # resend cool-down
    RESEND_LIMIT = "resend_limit"


def _resend_refusal(
    flow: RegistrationFlow, now: dt.datetime, *, cooldown: bool = True
) -> IdentityRefused | None:
    if flow.resends >= settings.FLOW_MAX_RESENDS:
        return IdentityRefused.RESEND_LIMIT
    wait = dt.timedelta(seconds=settings.FLOW_RESEND_COOLDOWN_SECONDS)
    if cooldown and flow.key_requested_at and now < flow.key_requested_at + wait:
        return IdentityRefused.TOO_SOON
    return None


def _supersede_key_mail(flow: RegistrationFlow) -> None:
    """A new key makes the previous key mail pointless: if it is still in the outbox (SMTP
    down), it is never sent. The same statement runs for every flow that had a key mail (a
    flow's first ② has none, whatever the register says)."""
    if flow.key_mail_id is not None:
        OutboundMail.objects.filter(pk=flow.key_mail_id, status=OutboundMail.Status.QUEUED).update(
            status=OutboundMail.Status.SUPERSEDED
        )


def flow_submit_identity(
    flow: RegistrationFlow,
    *,
    email: str,
    birth_date: dt.date,
    ip: str | None = None,
    language: str | None = None,
) -> IdentityRefused | MailCapped | None:
    """② → ③. Looks up the register and queues the one mail this answer gets (DESIGN §2).

    Only a flow at ② takes it: a repeat (double click, a second tab) leaves the first answer
    standing. A flow that comes back to ② to change the address has had a key already, so
    this one counts as a resend, with the resend's cool-down and cap."""
    address = normalize_email(email)
    now = clock.now()
    with transaction.atomic():
        flow = RegistrationFlow.objects.select_for_update().get(pk=flow.pk)
        if flow.stage != Stage.TERMS_AGREED:
            return None
        resends = flow.resends
        if flow.key_requested_at is not None:
            # A corrected address may be sent at once; the same address again waits.
            refused = _resend_refusal(flow, now, cooldown=address == flow.email)
            if refused:
                return refused
            resends += 1
        jobseeker = JobSeeker.objects.filter(email__lower=address).first()
        kind, deliver, with_key = _identity_answer(Purpose(flow.purpose), jobseeker, birth_date)
        capped = flow_mail_capped(address, with_key=with_key)
        if capped:
            return capped
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
            ip=ip,
            detail={"mail": mail.kind, "mail_status": mail.status},
        )
    return None


def flow_resend_key(
    flow: RegistrationFlow, *, ip: str | None = None, language: str | None = None
) -> IdentityRefused | MailCapped | None:
    """A new key (the old one stops working) with a cool-down and a cap; the wrong-key count
    carries over."""
    now = clock.now()
    with transaction.atomic():
        flow = RegistrationFlow.objects.select_for_update().get(pk=flow.pk)
        check_transition(flow.stage, Stage.KEY_SENT)
        refused = _resend_refusal(flow, now) or flow_mail_capped(
            flow.email, with_key=flow.jobseeker_id is not None
        )
        if refused:
            return refused
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
            ip=ip,
            detail={"mail": mail.kind, "mail_status": mail.status},
        )
    return None


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


class Outcome(enum.Enum):
    COMPLETED = "completed"
    WRONG_KEY = "wrong_key"
    KEY_EXPIRED = "key_expired"
    TOO_MANY_WRONG_KEYS = "too_many_wrong_keys"
    FLOW_ENDED = "flow_ended"
    ALREADY_COMPLETED = "already_completed"
    NOT_READY = "not_ready"  # the flow is not at ③ (address being changed)


@dataclass
class CompletionResult:
    outcome: Outcome
    flow: RegistrationFlow
    attempts_left: int = 0


def _apply_password(flow: RegistrationFlow, jobseeker: JobSeeker, password_hash: str, ip):
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
            from portal.passkeys.services import passkeys_remove_all

            user.password = password_hash
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
            passkeys_remove_all(user, ip=ip, reason="registration_takeover")
        jobseeker.user = user
        jobseeker.status = JobSeeker.Status.ACTIVE
        jobseeker.updated_at = clock.now()
        jobseeker.save(update_fields=["user", "status", "updated_at"])
        feed_event_record("account_opened", number=jobseeker.number)
        return user
    user = User.objects.select_for_update().get(pk=jobseeker.user_id)
    user.password = password_hash
    user.save(update_fields=["password"])
    from portal.accounts.services import account_after_password_reset

    account_after_password_reset(user, ip=ip)
    return user


def _key_state(flow: RegistrationFlow, key: str, now: dt.datetime) -> tuple[bool, bool]:
    """(the key is this flow's current key and its mail may have reached its owner, that key's
    time is over).

    A key whose mail was capped, suppressed or superseded never works: nobody was sent it. A
    right key works while its mail is still being sent, or queued again after an SMTP answer
    that was lost: only the mail's recipient can have it, so this reveals nothing."""
    mail = flow.key_mail
    matches = key_matches(flow.key_hash, flow.purpose, flow.pk, key)  # computed for every flow
    real = matches and flow.jobseeker_id is not None and mail is not None
    usable = real and key_mail_may_have_arrived(mail)
    lifetime = dt.timedelta(minutes=settings.AUTH_KEY_LIFETIME_MINUTES)
    return usable, usable and now > key_started_at(mail, now) + lifetime


def _count_wrong_key(flow: RegistrationFlow, ip: str | None) -> CompletionResult:
    wrong = flow.wrong_keys + 1
    if wrong >= settings.FLOW_MAX_WRONG_KEYS:
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
            ip=ip,
        )
        return CompletionResult(Outcome.TOO_MANY_WRONG_KEYS, flow)
    _move(flow, Stage.KEY_SENT, wrong_keys=wrong)
    return CompletionResult(
        Outcome.WRONG_KEY, flow, attempts_left=settings.FLOW_MAX_WRONG_KEYS - wrong
    )


@sensitive_variables("key", "password", "password_hash")
def flow_complete(
    flow: RegistrationFlow,
    *,
    key: str,
    password: str,
    ip: str | None = None,
    language: str | None = None,
) -> CompletionResult:
    """③ → ④: checks the key against this browser's flow and sets the password. `flow` is the
    flow as this request read it (flow_resume with its key mail); it decides whether the
    password is worth hashing, and everything is decided again on the locked rows.

    Everything is re-checked under row locks (the job seeker's, then the flow's: the same
    order everywhere, so two completions never deadlock), so two tabs or two servers sending
    the same key get exactly one success. An expired key is told apart from a wrong one only
    when it is the right key, so the answer never depends on whether a mail was due."""
    now = clock.now()
    peek, flow_id = flow, flow.pk
    usable, expired = _key_state(peek, key, now)
    # Argon2 is slow on purpose: spend it only on a key that can succeed, outside any lock.
    password_hash = make_password(password) if usable and not expired else None
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
            return CompletionResult(Outcome.ALREADY_COMPLETED, flow)
        if flow.stage == Stage.ENDED:
            return CompletionResult(Outcome.FLOW_ENDED, flow)
        if flow.stage != Stage.KEY_SENT:
            return CompletionResult(Outcome.NOT_READY, flow)
        if now > flow.expires_at:
            _move(flow, Stage.ENDED, ended_reason=EndReason.EXPIRED, key_hash=None)
            return CompletionResult(Outcome.FLOW_ENDED, flow)
        usable, expired = _key_state(flow, key, now)
        if usable and expired:
            return CompletionResult(Outcome.KEY_EXPIRED, flow)
        if not usable or jobseeker is None or flow.jobseeker_id != jobseeker.pk:
            return _count_wrong_key(flow, ip)
        if (
            jobseeker.status != _STATUS_GETTING_KEY[Purpose(flow.purpose)]
            or jobseeker.email.lower() != flow.email
        ):
            # The register changed since the key was sent: the account was opened in another
            # flow or suspended, or the counter corrected the address the key was mailed to.
            _move(flow, Stage.ENDED, ended_reason=EndReason.SUPERSEDED, key_hash=None)
            return CompletionResult(Outcome.FLOW_ENDED, flow)
        user = _apply_password(flow, jobseeker, password_hash or make_password(password), ip)
        if user is None:
            _move(flow, Stage.ENDED, ended_reason=EndReason.ACCOUNT_CONFLICT, key_hash=None)
            audit_event_record(
                f"{flow.purpose}.account_conflict",
                target_type="jobseeker",
                target_id=jobseeker.number,
                ip=ip,
                detail={"flow": flow.reference},
            )
            return CompletionResult(Outcome.FLOW_ENDED, flow)
        _move(flow, Stage.COMPLETED, completed_at=now, key_hash=None)
        flow_end_for_jobseeker(jobseeker, EndReason.SUPERSEDED, except_flow_id=flow.pk)
        # A completed key proves the person: the page's language becomes their own.
        jobseeker_language_set(jobseeker, language)
        from portal.passkeys.services import passkey_list

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
            ip=ip,
            detail={"flow": flow.reference},
        )
    return CompletionResult(Outcome.COMPLETED, flow)
