"""CSV import of the counter register (`manage.py import_jobseekers FILE.csv`).

The file is read as a stream: memory stays flat whatever its size. Each row is validated with
`jobseeker_parse`; good rows are written in batches through `jobseeker_upsert_batch`, each batch
its own transaction (SQLite is never locked for long). A bad row is reported with its line
number and reason and nothing of it is written; the good rows land. A job seeker number met on
an earlier line is refused wherever it appears in the file, so importing the same file twice
changes nothing. The numbers already met are kept in a private SQLite file, not in memory.

The file is read line by line in bounded pieces before the CSV reader sees it: a line over
MAX_LINE_BYTES is refused (and skipped) without ever being held whole, a header over
MAX_COLUMNS columns refuses the file, and a row with a field over MAX_FIELD_CHARS characters or
a control character other than tab in any field is refused with its line number.
"""

import contextlib
import csv
import datetime as dt
import os
import re
import sqlite3
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.core.text import normalize_input
from portal.jobseekers.csv_encoding import ImportFileError, detect_encoding
from portal.jobseekers.parsing import JobSeekerRecord, jobseeker_parse
from portal.jobseekers.services import jobseeker_upsert_batch

# Column of the file -> field of jobseeker_parse.
REQUIRED_COLUMNS = {
    "job_seeker_number": "number",
    "name": "name",
    "name_kana": "name_kana",
    "email": "email",
    "birth_date": "birth_date",
}
OPTIONAL_COLUMNS = {"office": "office", "language": "language"}
COLUMNS = {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}
DEFAULT_BATCH_SIZE = 10_000
MAX_COLUMNS = 100
MAX_FIELD_CHARS = 1_000
MAX_LINE_BYTES = 64 * 1024
# A character is at most 4 bytes in UTF-8 (2 in CP932): a line this short cannot be too long.
_SURELY_SHORT_CHARS = MAX_LINE_BYTES // 4
# C0 and C1 control characters and DEL, except tab.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

RejectHandler = Callable[[int, str], None]


@dataclass
class ImportResult:
    file: str = ""
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    completed: bool = False

    def summary(self) -> str:
        return _(
            "取込み結果：新規 %(created)d 件、更新 %(updated)d 件、変更なし %(unchanged)d 件、"
            "エラー %(rejected)d 件"
            "（created=%(created)d updated=%(updated)d unchanged=%(unchanged)d "
            "rejected=%(rejected)d）"
        ) % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


def _column_map(header: list[str]) -> dict[str, int]:
    expected = ",".join([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(
            _(
                "1行目の見出しの列が多すぎます（%(count)d 列）。見出しは %(limit)d 列までです。"
                "見出しは %(expected)s としてください。"
            )
            % {"count": len(header), "limit": MAX_COLUMNS, "expected": expected}
        )
    names = [normalize_input(cell).lower() for cell in header]
    seen: set[str] = set()
    duplicated_set: set[str] = set()
    for name in names:
        if name in seen:
            duplicated_set.add(name)
        seen.add(name)
    duplicated = sorted(n for n in duplicated_set if n)
    unknown = [n for n in names if n and n not in COLUMNS]
    missing = [n for n in REQUIRED_COLUMNS if n not in seen]
    problems = []
    if missing:
        problems.append(_("必須の列がありません：%(names)s") % {"names": ", ".join(missing)})
    if unknown:
        problems.append(_("不明な列があります：%(names)s") % {"names": ", ".join(unknown)})
    if duplicated:
        problems.append(_("列名が重複しています：%(names)s") % {"names": ", ".join(duplicated)})
    if problems:
        raise ImportFileError(
            _(
                "1行目の見出しが正しくありません。%(problems)s。"
                "見出しは %(expected)s としてください。"
            )
            % {"problems": _("。").join(problems), "expected": expected}
        )
    return {COLUMNS[name]: index for index, name in enumerate(names) if name}


class _SeenNumbers:
    """Job seeker numbers met on earlier lines of the file, with the first line of each, kept
    in a private SQLite file so that memory stays flat in the file's size."""

    def __init__(self) -> None:
        handle, self._path = tempfile.mkstemp(prefix="jobseeker-import-", suffix=".sqlite3")
        os.close(handle)
        self._db = sqlite3.connect(self._path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (number INTEGER PRIMARY KEY, line INTEGER NOT NULL)")

    @staticmethod
    def _key(number: str) -> int:
        # A valid number is 5 digits, a hyphen, 8 digits: 13 digits make an exact integer key.
        return int(number.replace("-", ""))

    def first_lines(self, batch: list[tuple[int, JobSeekerRecord]]) -> dict[int, int]:
        """Records the batch's numbers; returns {line: first line} for each line whose number
        was met before (on an earlier batch or earlier in this one)."""
        keys = [self._key(record.number) for _, record in batch]
        known: dict[int, int] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            known.update(
                self._db.execute(f"SELECT number, line FROM seen WHERE number IN ({marks})", chunk)  # noqa: S608
            )
        repeats: dict[int, int] = {}
        new: list[tuple[int, int]] = []
        for (line, _record), key in zip(batch, keys, strict=True):
            first = known.get(key)
            if first is None:
                known[key] = line
                new.append((key, line))
            else:
                repeats[line] = first
        if new:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO seen (number, line) VALUES (?, ?)", new)
            self._db.execute("COMMIT")
        return repeats

    def close(self) -> None:
        self._db.close()
        with contextlib.suppress(OSError):
            os.unlink(self._path)


def _parse_error_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(message for messages in exc.message_dict.values() for message in messages)
    return " ".join(exc.messages)


class _Writer:
    """Hands batches to jobseeker_upsert_batch in file order. Concurrent mode runs the writes
    in one thread of its own (with its own database connection), so that reading and
    validating the next batch overlaps with the database's work on this one; at most two
    batches are in memory at any time."""

    def __init__(self, *, concurrent: bool, kwargs: dict) -> None:
        self.kwargs = kwargs
        self.executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobseeker-import")
            if concurrent
            else None
        )

    def submit(self, records: list[JobSeekerRecord]) -> Future:
        if self.executor is not None:
            return self.executor.submit(jobseeker_upsert_batch, records, **self.kwargs)
        future: Future = Future()
        future.set_result(jobseeker_upsert_batch(records, **self.kwargs))
        return future

    @property
    def in_flight(self) -> int:
        return 1 if self.executor is not None else 0

    def close(self, pending) -> None:
        if self.executor is None:
            return
        for future, *_rest in pending:
            future.cancel()
        self.executor.submit(connections.close_all)
        self.executor.shutdown(wait=True)


class _Run:
    def __init__(self, result, *, batch_size, today, on_reject, writer, on_progress=None) -> None:
        self.result = result
        self.on_progress = on_progress
        self.batch_size = batch_size
        self.today = today
        self.on_reject = on_reject
        self.writer = writer
        self.seen = _SeenNumbers()
        # The lines of the current chunk: good records, and refusals waiting to be reported.
        self.good: list[tuple[int, JobSeekerRecord]] = []
        self.refused: list[tuple[int, str]] = []
        self.lines = 0
        # Batches handed to the writer and not yet reported: (future, lines, refusals).
        self.pending: deque = deque()

    def row(self, line: int, raw: dict[str, str], extra: list[str]) -> None:
        if any(cell.strip() for cell in extra):
            self.refuse(
                line, _("見出しより列が多くなっています（見出しの列数を超える値があります）。")
            )
            return
        try:
            record = jobseeker_parse(raw, today=self.today)
        except ValidationError as exc:
            self.refuse(line, _parse_error_message(exc))
            return
        self.result.rows += 1
        self.good.append((line, record))
        self._next_line()

    def refuse(self, line: int, message: str) -> None:
        self.result.rows += 1
        self.refused.append((line, message))
        self._next_line()

    def _next_line(self) -> None:
        self.lines += 1
        if self.lines >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        good, refused = self.good, self.refused
        self.good, self.refused, self.lines = [], [], 0
        repeats = self.seen.first_lines(good) if good else {}
        lines, records = [], []
        for line, record in good:
            first = repeats.get(line)
            if first is None:
                lines.append(line)
                records.append(record)
            else:
                refused.append(
                    (
                        line,
                        _("求職番号 %(number)s は %(first)d 行目と重複しています。")
                        % {"number": record.number, "first": first},
                    )
                )
        future = self.writer.submit(records) if records else None
        self.pending.append((future, lines, refused))
        while len(self.pending) > self.writer.in_flight:
            self._report(*self.pending.popleft())

    def finish(self) -> None:
        self.flush()
        while self.pending:
            self._report(*self.pending.popleft())

    def _report(self, future: Future | None, lines: list[int], refused: list) -> None:
        if future is not None:
            outcome = future.result()
            self.result.created += outcome.created
            self.result.updated += outcome.updated
            self.result.unchanged += outcome.unchanged
            refused.extend((lines[index], message) for index, message in outcome.rejected)
        self.result.rejected += len(refused)
        if self.on_reject is not None:
            for line, message in sorted(refused):
                self.on_reject(line, message)
        if self.on_progress is not None:
            self.on_progress(self.result)

    def close(self) -> None:
        self.writer.close(self.pending)
        self.seen.close()


def jobseeker_import(
    path: str | os.PathLike,
    *,
    actor=None,
    actor_label: str = "",
    origin: RequestOrigin = NO_REQUEST,
    on_reject: RejectHandler | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    today: dt.date | None = None,
    concurrent: bool | None = None,
    on_progress: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Imports a CSV file of job seekers; see the module docstring. Refused rows are passed to
    `on_reject(line, message)` in line order. Raises ImportFileError when the file as a whole
    cannot be read (encoding, header). One audit event records the run, one each changed row.

    `concurrent` writes in a thread of its own while the next batch is read; by default on
    PostgreSQL when no transaction is open (the writer thread has its own connection).
    `on_progress(result)` is called after each batch with the counts so far."""
    result = ImportResult(file=Path(path).name)
    result.encoding = detect_encoding(path)
    today = today or timezone.localdate(clock.now())
    writer_kwargs = {
        "actor": actor,
        "actor_label": actor_label,
        "origin": origin,
        "source": "import",
    }
    with open(path, encoding=result.encoding, newline="") as stream:
        lines = _BoundedLines(stream, result.encoding)
        rows = _numbered_rows(csv.reader(lines), lines)
        first = next(rows, None)
        if first is None:
            raise ImportFileError(_("ファイルが空です（見出し行がありません）。"))
        _line, header, problem = first
        if problem is not None:
            message = _("1行目の見出しを読めません。%(problem)s")
            raise ImportFileError(message % {"problem": problem})
        columns = list(_column_map(header).items())
        width = len(header)
        labels = [normalize_input(cell) or str(index + 1) for index, cell in enumerate(header)]
        if concurrent is None:
            concurrent = connection.vendor == "postgresql" and not connection.in_atomic_block
        run = _Run(
            result,
            batch_size=batch_size,
            today=today,
            on_reject=on_reject,
            writer=_Writer(concurrent=concurrent, kwargs=writer_kwargs),
            on_progress=on_progress,
        )
        try:
            for line, cells, problem in rows:
                problem = problem or _cells_problem(cells, labels)
                if problem is not None:
                    run.refuse(line, problem)
                    continue
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                run.row(line, {name: cells[index] for name, index in columns}, cells[width:])
            run.finish()
            result.completed = True
        finally:
            run.close()
            if result.rows and not connection.needs_rollback:
                audit_event_record(
                    "jobseeker.import",
                    actor=actor,
                    actor_label=actor_label,
                    target_type="file",
                    target_id=result.file,
                    origin=origin,
                    detail={
                        "file": result.file,
                        "encoding": result.encoding,
                        "rows": result.rows,
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                        "rejected": result.rejected,
                        "completed": result.completed,
                    },
                )
    return result


class _LineTooLongError(Exception):
    """Raised through the CSV reader when a line, or a record spread over several lines, is
    longer than MAX_LINE_BYTES."""


class _BoundedLines:
    """The file's lines for the CSV reader, each read in pieces of at most MAX_LINE_BYTES + 3
    characters: a longer line is skipped to its end, piece by piece, and reported by raising
    _LineTooLongError, so no line is ever held whole. A record whose quoted fields span lines
    is bounded the same way (the caller resets `record_chars` after each record). `count` is
    the number of lines read so far."""

    def __init__(self, stream, encoding: str) -> None:
        self.stream = stream
        # The byte length of a line, without the BOM that 'utf-8-sig' would add to each.
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.count = 0
        self.record_chars = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        # The limit, and room for the line's end (\r\n) after it.
        line = self.stream.readline(MAX_LINE_BYTES + 3)
        if not line:
            raise StopIteration
        self.count += 1
        content = line.rstrip("\r\n")
        if len(content) > MAX_LINE_BYTES:
            while line and not line.endswith(("\n", "\r")):
                line = self.stream.readline(MAX_LINE_BYTES)
            raise _LineTooLongError
        self.record_chars += len(content)
        if self.record_chars > MAX_LINE_BYTES or (
            len(content) > _SURELY_SHORT_CHARS
            and len(content.encode(self.encoding)) > MAX_LINE_BYTES
        ):
            raise _LineTooLongError
        return line


def _line_too_long_message() -> str:
    return _(
        "1行が長すぎます（%(limit)d KiB を超えています）。"
        "1行に求職者1人分の項目だけを書き、余分な列や値を取り除いてください。"
    ) % {"limit": MAX_LINE_BYTES // 1024}


def _cells_problem(cells: list[str], labels: list[str]) -> str | None:
    """Why a parsed row is refused before validation (a field too long, a control character),
    or None."""
    for index, cell in enumerate(cells):
        label = labels[index] if index < len(labels) else str(index + 1)
        if len(cell) > MAX_FIELD_CHARS:
            return _(
                "列「%(column)s」の値が長すぎます（%(length)d 文字）。"
                "%(limit)d 文字以内にしてください。"
            ) % {"column": label, "length": len(cell), "limit": MAX_FIELD_CHARS}
        control = _CONTROL_RE.search(cell)
        if control is not None:
            return _(
                "列「%(column)s」に使えない制御文字（U+%(code)04X）が含まれています。"
                "制御文字を取り除いてから取り込んでください。"
            ) % {"column": label, "code": ord(control.group())}
    return None


def _numbered_rows(reader, lines: _BoundedLines):
    """(first line of the record, cells, problem) for each non-blank record; cells is None and
    problem says why for a record that could not be read (reading goes on with the next
    line)."""
    previous_line = 0
    while True:
        problem = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _LineTooLongError:
            cells, problem = None, _line_too_long_message()
        except csv.Error:
            cells = None
            problem = _("CSVの形式が正しくありません（引用符の対応などを確認してください）。")
        line, previous_line = previous_line + 1, lines.count
        lines.record_chars = 0
        if cells is not None and not any(cell.strip() for cell in cells):
            continue
        yield line, cells, problem
