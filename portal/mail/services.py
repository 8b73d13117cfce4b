"""The outbox: `mail_queue` writes a mail inside the caller's transaction; the worker
(`mail_deliver_due`, run by `manage.py deliver_mail`) hands due mails to SMTP."""

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Now
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import pgettext

from portal.audit.feed import feed_event_record
from portal.core.clock import clock
from portal.core.site import site_text
from portal.core.text import normalize_email
from portal.mail.models import MailAttempt, MailWorker, OutboundMail
from portal.mail.sealing import seal, unseal

logger = logging.getLogger(__name__)

# Stands in the stored body where the worker puts the decrypted secret.
SECRET_MARKER = "@@SECRET@@"  # noqa: S105 (a placeholder, not a secret)
DEADLINE_MARKER = "@@DEADLINE@@"


def format_jst(moment: dt.datetime, language: str | None = None) -> str:
    """A deadline in Japan's time, written in `language`'s way (the active one by default):
    `2026年12月3日 16:07`, `3 December 2026, 16:07 JST`."""
    local = timezone.localtime(moment, ZoneInfo("Asia/Tokyo"))
    with translation.override(language or translation.get_language()):
        return date_format(local, pgettext("mail deadline", "Y年n月j日 H:i"))


def language_or_default(language: str | None) -> str:
    """`language` if the service offers it, else the default language."""
    offered = {code for code, _name in settings.LANGUAGES}
    return language if language in offered else settings.LANGUAGE_CODE


def mail_render(kind: str, context: dict) -> tuple[str, str]:
    subject = render_to_string(f"mail/{kind}.subject.txt", context).strip()
    body = render_to_string(f"mail/{kind}.body.txt", context)
    return subject, body


def mail_recent_count(address: str, *, with_secret: bool, now: dt.datetime | None = None) -> int:
    """Mails addressed to `address` in the last 24 hours, sent or not: the per-address cap
    counts what was asked for, so it answers the same for addresses that exist and that don't.

    Mails that carry a key and notices without one have a budget each, so a stranger who
    sends notices (a wrong birth date) cannot use up the owner's key mails for the day."""
    since = (now or clock.now()) - dt.timedelta(hours=24)
    return (
        OutboundMail.objects.filter(
            to=normalize_email(address),
            created_at__gte=since,
            secret_sealed__isnull=not with_secret,
        )
        .exclude(kind__in=settings.MAIL_CAP_EXEMPT_KINDS)
        .count()
    )


def mail_queue(
    *,
    to: str,
    kind: str,
    context: dict | None = None,
    secret: str | None = None,
    secret_valid_minutes: int | None = None,
    deliver: bool = True,
    language: str | None = None,
) -> OutboundMail:
    """Queues one mail; call inside the transaction of the change that causes it.

    `deliver=False` writes the same row as suppressed, for request paths that must do the same
    work whether or not a mail goes out. Past settings.MAILS_PER_ADDRESS_PER_DAY the row is
    written as capped and nothing is sent.

    `language` is the person's (the page's that asked for the mail, or the job seeker's own);
    without it the mail is in settings.LANGUAGE_CODE, never in the active language, which may
    be a clerk's or the worker's."""
    language = language_or_default(language)
    address = normalize_email(to)
    now = clock.now()
    context = dict(context or {})
    context.update(
        secret=SECRET_MARKER,
        deadline=DEADLINE_MARKER,
        sender=settings.MAIL_SENDER,
        site_name=site_text("SITE_NAME", language),
        contact=site_text("OFFICE_CONTACT", language),
        office_contact=site_text("OFFICE_CONTACT", language),
    )
    with translation.override(language):
        subject, body = mail_render(kind, context)
    if SECRET_MARKER in subject:
        raise ValueError("a secret must never be in a mail's subject")
    capped = (
        kind not in settings.MAIL_CAP_EXEMPT_KINDS
        and mail_recent_count(address, with_secret=secret is not None, now=now)
        >= settings.MAILS_PER_ADDRESS_PER_DAY
    )
    if capped:
        status = OutboundMail.Status.CAPPED
    elif not deliver:
        status = OutboundMail.Status.SUPPRESSED
    else:
        status = OutboundMail.Status.QUEUED
    return OutboundMail.objects.create(
        created_at=now,
        to=address,
        kind=kind,
        language=language,
        subject=subject,
        body=body,
        secret_sealed=seal(secret) if secret is not None else None,
        secret_valid_minutes=secret_valid_minutes,
        status=status,
        next_attempt_at=now,
    )


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


# The errors of a database that cannot be reached, or that went away mid-statement: the
# worker closes its connection, waits and tries again (deliver_mail), and never exits on them.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)

# Mails whose lease is over (it ran out, or its worker stopped beating: it died) are looked for
# when nothing is due, and at least this often while mails keep coming.
_EXPIRED_LEASES_EVERY = dt.timedelta(seconds=30)
_expired_leases_looked_at: dt.datetime | None = None  # by this process


def dead_workers():
    """Workers silent for three heartbeats. Heartbeats are written and compared in the
    database's clock, the one clock that workers on different hosts share."""
    silence = dt.timedelta(seconds=3 * settings.MAIL_WORKER_HEARTBEAT_SECONDS)
    return MailWorker.objects.filter(heartbeat_at__lt=Now() - silence)


def _claim(batch_size: int, worker: MailWorker | None = None) -> list[OutboundMail]:
    """Takes a lease on due mails for `worker` (None: a lease that only runs out). On
    PostgreSQL, SKIP LOCKED lets several workers claim disjoint batches. A lease that ran out,
    or whose worker is dead, makes the mail due again."""
    global _expired_leases_looked_at
    now = clock.now()
    lease_until = now + dt.timedelta(seconds=settings.MAIL_LEASE_SECONDS)
    locking = OutboundMail.objects.select_for_update(skip_locked=True)
    due = locking.filter(status=OutboundMail.Status.QUEUED, next_attempt_at__lte=now)
    lease_over = locking.filter(status=OutboundMail.Status.SENDING).filter(
        Q(lease_until__lt=now) | Q(worker__in=dead_workers())
    )
    with transaction.atomic():
        mails = list(due.order_by("next_attempt_at", "id")[:batch_size])
        looked_at = _expired_leases_looked_at
        recently = looked_at is not None and looked_at <= now < looked_at + _EXPIRED_LEASES_EVERY
        if len(mails) < batch_size and not (mails and recently):
            _expired_leases_looked_at = now
            mails += lease_over.order_by("lease_until", "id")[: batch_size - len(mails)]
        if mails:
            OutboundMail.objects.filter(pk__in=[mail.pk for mail in mails]).update(
                status=OutboundMail.Status.SENDING,
                lease_until=lease_until,
                worker=worker,
                attempts=F("attempts") + 1,
            )
        for mail in mails:
            mail.status = OutboundMail.Status.SENDING
            mail.lease_until = lease_until
            mail.worker = worker
            mail.attempts += 1
    return mails


def _message(mail: OutboundMail, now: dt.datetime) -> EmailMessage:
    body = mail.body
    if mail.secret_sealed is not None:
        body = body.replace(SECRET_MARKER, unseal(mail.secret_sealed))
    if mail.secret_valid_minutes is not None:
        # The secret's time runs from the first hand-over that may have reached its owner, so
        # a mail sent again after a lost answer carries the first one's deadline.
        started = mail.handed_over_at or now
        deadline = started + dt.timedelta(minutes=mail.secret_valid_minutes)
        body = body.replace(DEADLINE_MARKER, format_jst(deadline, mail.language))
    return EmailMessage(
        subject=mail.subject, body=body, from_email=settings.MAIL_SENDER, to=[mail.to]
    )


def _leased(mail: OutboundMail):
    """The mail's row while this worker still holds its lease: every write of the worker goes
    through it, so a worker whose lease ran out never overwrites the one that took over."""
    return OutboundMail.objects.filter(
        pk=mail.pk, status=OutboundMail.Status.SENDING, lease_until=mail.lease_until
    )


def _lease_holds(mail: OutboundMail) -> bool:
    """Whether this worker's lease on a mail still has half its length to run: then it
    outlasts one send (at most a few EMAIL_TIMEOUTs), and renewing it would be a statement
    for nothing. The first mails of a batch are sent on the claim's lease."""
    left = mail.lease_until - clock.now()
    return left >= dt.timedelta(seconds=settings.MAIL_LEASE_SECONDS / 2)


def give_back(leased) -> int:
    """Puts leased mails that were not handed to SMTP back in the queue, due at once; the
    attempt their claim counted did not happen."""
    return leased.update(
        status=OutboundMail.Status.QUEUED,
        lease_until=None,
        worker=None,
        attempts=F("attempts") - 1,
    )


def _record_hand_over(mail: OutboundMail, started: dt.datetime) -> None:
    """For an answer that came in after another worker took the mail over: the attempt may
    still have reached the recipient first, and the earliest hand-over is the one kept."""
    OutboundMail.objects.filter(pk=mail.pk).filter(
        Q(handed_over_at__isnull=True) | Q(handed_over_at__gt=started)
    ).update(handed_over_at=started)


def _renew_lease(mail: OutboundMail) -> bool:
    """Extends this worker's lease on a mail just before sending it. False when the lease ran
    out and another worker took the mail over: then it is not sent."""
    lease_until = clock.now() + dt.timedelta(seconds=settings.MAIL_LEASE_SECONDS)
    renewed = _leased(mail).update(lease_until=lease_until)
    if renewed:
        mail.lease_until = lease_until
    return bool(renewed)


def _record_sent(
    mail: OutboundMail, started: dt.datetime, sent_at: dt.datetime | None = None
) -> None:
    """Records a mail SMTP accepted (at `sent_at`, by default now), with its attempt, in one
    transaction. The attempt is logged even when another worker took the mail over."""
    sent_at = sent_at or clock.now()
    with transaction.atomic():
        MailAttempt.objects.create(mail=mail, attempted_at=started, ok=True)
        recorded = _leased(mail).update(
            status=OutboundMail.Status.SENT,
            sent_at=sent_at,
            handed_over_at=Coalesce(F("handed_over_at"), Value(started)),
            lease_until=None,
            worker=None,
            last_error="",
        )
        if not recorded:
            _record_hand_over(mail, started)
    mail.status, mail.sent_at, mail.last_error = OutboundMail.Status.SENT, sent_at, ""
    mail.handed_over_at = mail.handed_over_at or started


def _record_failure(
    mail: OutboundMail,
    started: dt.datetime,
    error: str,
    *,
    may_have_arrived: bool,
    refused: bool = False,
) -> None:
    """Records one failed attempt: the mail is tried again later, or failed after
    MAIL_MAX_ATTEMPTS. `may_have_arrived`: the server may have taken the mail and its answer
    been lost; the attempt then counts as the mail's hand-over (see OutboundMail)."""
    now = clock.now()
    error = error[:500]
    changes = {"lease_until": None, "worker": None, "last_error": error}
    if mail.attempts >= settings.MAIL_MAX_ATTEMPTS:
        changes["status"] = OutboundMail.Status.FAILED
    else:
        delay = settings.MAIL_RETRY_BASE_SECONDS * 2 ** (mail.attempts - 1)
        changes["status"] = OutboundMail.Status.QUEUED
        changes["next_attempt_at"] = now + dt.timedelta(seconds=min(delay, 3600))
    with transaction.atomic():
        MailAttempt.objects.create(mail=mail, attempted_at=started, ok=False, error=error)
        if may_have_arrived:
            handed_over_at = Coalesce(F("handed_over_at"), Value(started))
            if not _leased(mail).update(handed_over_at=handed_over_at, **changes):
                _record_hand_over(mail, started)
        else:
            _leased(mail).update(**changes)
        # The change feed's "mail failed": given up, or refused by the server (its first
        # refusal only; retries of the same mail add nothing).
        if changes["status"] == OutboundMail.Status.FAILED or (refused and mail.attempts == 1):
            feed_event_record("mail_failed", email=mail.to)
    for name, value in changes.items():
        setattr(mail, name, value)
    if may_have_arrived:
        mail.handed_over_at = mail.handed_over_at or started


def _refused(exc: Exception) -> bool:
    """Whether a send failed because the server answered no (to MAIL FROM, RCPT TO or DATA):
    then it did not take the mail. Any other failure on an open connection (it dropped or
    timed out) may have come after the server took the mail, before its answer arrived."""
    return isinstance(exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused))


def _deliver(connection, mail: OutboundMail, worker: object | None = None) -> None:
    """Hands one mail to SMTP over `connection` and records what happened at once. With a
    `worker`, an answer the database cannot take is kept by the worker until it can."""
    started = clock.now()
    opened = False
    try:
        message = _message(mail, started)
        connection.open()  # does nothing while open; raises when the server cannot be reached
        opened = True
        connection.send_messages([message])
    except Exception as exc:  # noqa: BLE001 - any SMTP or socket failure is retried
        logger.warning(
            "mail delivery failed",
            extra={"mail_id": mail.pk, "kind": mail.kind, "error": type(exc).__name__},
        )
        answer = partial(
            _record_failure,
            mail,
            started,
            f"{type(exc).__name__}: {exc}",
            may_have_arrived=opened and not _refused(exc),
            refused=_refused(exc),
        )
        try:
            connection.close()  # the next mail opens a new one
        except Exception:  # noqa: BLE001, S110
            pass
    else:
        answer = partial(_record_sent, mail, started, clock.now())
    if worker is None:
        answer()
    else:
        worker.record(answer)


def mail_deliver_due(
    *,
    batch_size: int = 50,
    should_stop=lambda: False,
    worker: object | None = None,
) -> DeliveryReport:
    """Delivers one batch of due mails over one SMTP connection, and records each one (sent,
    or failed and queued again) as soon as the server answered for it. A mail whose lease is
    past its first half is renewed just before it is sent, so a slow batch never races another
    worker for the same mail.

    Each mail is sent once, except one whose SMTP answer was lost: the connection dropped or
    timed out after the message went out, or the worker did not record the answer before its
    lease was over (it died or lost the database, or one send outlasted half a lease). Such a
    mail is sent again (on the next attempt, or by the worker that takes it over), so it may
    reach its owner twice.

    `worker`: the running `deliver_mail` whose heartbeat the leases hang on (None: leases that
    only run out). A database error ends the batch at once (it propagates), so no mail is
    handed to SMTP while an earlier answer is still unrecorded."""
    report = DeliveryReport()
    if worker is not None and not worker.beating():
        return report  # others may be taking this worker for dead: it claims nothing
    mails = _claim(batch_size, worker.row if worker is not None else None)
    if not mails:
        return report
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    try:
        for mail in mails:
            if should_stop() or (worker is not None and not worker.beating()):
                # Give the lease back so another worker takes it at once.
                give_back(_leased(mail))
                continue
            if not _lease_holds(mail) and not _renew_lease(mail):
                continue
            _deliver(connection, mail, worker)
            if mail.status == OutboundMail.Status.SENT:
                report.sent += 1
            elif mail.status == OutboundMail.Status.FAILED:
                report.failed += 1
            else:
                report.retried += 1
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001, S110
            pass
    return report
