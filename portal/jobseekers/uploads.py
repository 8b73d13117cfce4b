"""CSV files uploaded in the staff admin, imported outside the request.

The view stores the file under CSV_UPLOAD_DIR and queues a `JobSeekerUpload`; the mail worker's
process (`manage.py deliver_mail`, in a thread of its own beside the delivery loop) claims it
and runs `jobseeker_import`, the command's importer, so the rules and messages are the same.
The counts are written after each batch (the result page shows them), every refused line is
stored with its number, text and reason, and the file is deleted once imported. A run whose
worker stopped renewing its heartbeat is claimed again; re-importing a file changes nothing.
"""

import contextlib
import csv
import datetime as dt
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import RequestOrigin
from portal.jobseekers.csv_encoding import ImportFileError, detect_encoding
from portal.jobseekers.importer import ImportResult
from portal.jobseekers.importer import jobseeker_import as _jobseeker_import
from portal.jobseekers.models import JobSeekerUpload, JobSeekerUploadRejection

logger = logging.getLogger(__name__)

# Text kept of a refused line: enough to find it in the file.
VALUE_MAX_CHARS = 1_000
_REJECTION_BATCH = 1_000
# Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def upload_max_bytes() -> int:
    return settings.CSV_UPLOAD_MAX_MB * 1024 * 1024


def jobseeker_upload_create(uploaded_file, *, actor, origin: RequestOrigin) -> JobSeekerUpload:
    """Stores an uploaded file and queues its import. Raises ValidationError for a file over
    CSV_UPLOAD_MAX_MB or an empty one."""
    if uploaded_file.size > upload_max_bytes():
        raise ValidationError(
            _(
                "ファイルが大きすぎます（%(size).1f MB）。%(limit)d MB 以下のファイルに分けて"
                "アップロードしてください。"
            )
            % {"size": uploaded_file.size / (1024 * 1024), "limit": settings.CSV_UPLOAD_MAX_MB},
            code="too_large",
        )
    if uploaded_file.size == 0:
        raise ValidationError(_("ファイルが空です。"), code="empty")
    directory = Path(settings.CSV_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    # The stored name is random: the uploaded name is shown, never used as a path.
    path = directory / f"{secrets.token_hex(16)}.csv"
    with open(path, "xb") as out:
        for chunk in uploaded_file.chunks():
            out.write(chunk)
    name = Path(uploaded_file.name or "upload.csv").name[:255]
    try:
        with transaction.atomic():
            upload = JobSeekerUpload.objects.create(
                uploaded_by=actor,
                ip=origin.ip,
                file_name=name,
                file_size=uploaded_file.size,
                stored_path=str(path),
            )
            audit_event_record(
                "jobseeker.upload",
                actor=actor,
                target_type="upload",
                target_id=str(upload.pk),
                origin=origin,
                detail={"file": name, "size": uploaded_file.size},
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return upload


def jobseeker_upload_claim() -> JobSeekerUpload | None:
    """The oldest queued upload, or one whose worker went silent, marked as running."""
    now = clock.now()
    stale = now - dt.timedelta(seconds=settings.CSV_IMPORT_STALE_SECONDS)
    with transaction.atomic():
        upload = (
            JobSeekerUpload.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=JobSeekerUpload.Status.QUEUED)
                | Q(status=JobSeekerUpload.Status.RUNNING, heartbeat_at__lt=stale)
            )
            .order_by("created_at", "id")
            .first()
        )
        if upload is None:
            return None
        upload.status = JobSeekerUpload.Status.RUNNING
        upload.started_at = upload.heartbeat_at = now
        upload.save(update_fields=["status", "started_at", "heartbeat_at"])
        # A run taken over starts again from the top of the file.
        upload.rejections.all().delete()
    return upload


class _LineTexts:
    """The text of the file's lines, read forward only (refused lines come in line order).
    Lines are split as the importer splits them, and read in bounded pieces."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stream = None
        self.number = 0

    def get(self, line: int) -> str:
        if self.stream is None:
            self.stream = open(self.path, encoding=detect_encoding(self.path), newline="")
        text = ""
        while self.number < line:
            piece = self.stream.readline(VALUE_MAX_CHARS + 2)
            if not piece:
                return ""
            self.number += 1
            text = piece.rstrip("\r\n")
            while piece and not piece.endswith(("\n", "\r")):
                piece = self.stream.readline(VALUE_MAX_CHARS)
        return text[:VALUE_MAX_CHARS]

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


def jobseeker_upload_run(upload: JobSeekerUpload) -> JobSeekerUpload:
    """Imports a claimed upload with the command's importer, then deletes the file."""
    path = upload.stored_path
    texts = _LineTexts(path)
    pending: list[JobSeekerUploadRejection] = []

    def flush() -> None:
        JobSeekerUploadRejection.objects.bulk_create(pending)
        pending.clear()

    def on_reject(line: int, message: str) -> None:
        pending.append(
            JobSeekerUploadRejection(
                upload=upload, line=line, value=texts.get(line), reason=message
            )
        )
        if len(pending) >= _REJECTION_BATCH:
            flush()

    def on_progress(result: ImportResult) -> None:
        flush()
        JobSeekerUpload.objects.filter(pk=upload.pk).update(
            heartbeat_at=clock.now(), **_counts(result)
        )

    actor = upload.uploaded_by
    fields: dict = {}
    try:
        result = _jobseeker_import(
            path,
            actor=actor,
            actor_label="" if actor is not None else "upload",
            # The uploader's address, kept on the row: the import runs outside their request.
            origin=RequestOrigin(ip=upload.ip),
            on_reject=on_reject,
            on_progress=on_progress,
        )
    except ImportFileError as exc:
        fields = {"status": JobSeekerUpload.Status.FAILED, "error": str(exc)}
    except FileNotFoundError:
        fields = {
            "status": JobSeekerUpload.Status.FAILED,
            "error": _(
                "アップロードされたファイルが見つかりません。もう一度アップロードしてください。"
            ),
        }
    else:
        flush()
        fields = {
            "status": JobSeekerUpload.Status.DONE,
            "encoding": result.encoding,
            **_counts(result),
        }
    finally:
        texts.close()
        pending.clear()
        with contextlib.suppress(OSError):
            os.unlink(path)
    for name, value in {**fields, "finished_at": clock.now(), "stored_path": ""}.items():
        setattr(upload, name, value)
    upload.save()
    audit_event_record(
        "jobseeker.upload_finished",
        actor=actor,
        actor_label="" if actor is not None else "upload",
        target_type="upload",
        target_id=str(upload.pk),
        origin=RequestOrigin(ip=upload.ip),
        detail={
            "file": upload.file_name,
            "status": upload.status,
            "rows": upload.rows,
            "created": upload.created,
            "updated": upload.updated,
            "unchanged": upload.unchanged,
            "rejected": upload.rejected,
        },
    )
    return upload


def _counts(result: ImportResult) -> dict:
    return {
        "encoding": result.encoding,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
    }


def jobseeker_upload_run_next() -> bool:
    """Claims and imports one upload; False when none was waiting."""
    upload = jobseeker_upload_claim()
    if upload is None:
        return False
    logger.info("csv import started", extra={"upload": upload.pk})
    upload = jobseeker_upload_run(upload)
    logger.info("csv import finished", extra={"upload": upload.pk, "status": upload.status})
    return True


def csv_cell_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading '."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def jobseeker_upload_rejections_csv(upload: JobSeekerUpload) -> Iterator[str]:
    """The refused lines as CSV text (line number, line, reason), header first."""

    class _Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([_("行番号"), _("行の内容"), _("理由")])
    rows = upload.rejections.order_by("line", "id").values_list("line", "value", "reason")
    for line, value, reason in rows.iterator(chunk_size=2000):
        yield writer.writerow([line, csv_cell_safe(value), csv_cell_safe(reason)])
