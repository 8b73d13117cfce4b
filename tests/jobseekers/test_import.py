import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portal.audit.models import AuditEvent
from portal.jobseekers.csv_encoding import ImportFileError, detect_encoding
from portal.jobseekers.importer import jobseeker_import
from portal.jobseekers.models import JobSeeker

pytestmark = pytest.mark.django_db

ROWS = [
    "13010-00000001,山田太郎,ヤマダタロウ,taro@example.jp,1990-04-01,ハローワーク渋谷",
    "13010-00000002,佐藤花子,サトウハナコ,hanako@example.jp,1985/12/31,",
    "27010-00000003,髙橋一郎,タカハシイチロウ,ichiro@example.jp,2001-02-03,ハローワーク梅田",
]


def run_import(path, **kwargs):
    """call_command; returns (stdout, stderr, error) where error is the CommandError or None."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_jobseekers", str(path), stdout=out, stderr=err, **kwargs)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp932", "cp932")],
)
def test_import_detects_encoding(write_csv, encoding, detected):
    path = write_csv(ROWS, encoding=encoding)
    assert detect_encoding(path) == detected
    out, err, error = run_import(path)
    assert error is None, err
    assert "created=3 updated=0 unchanged=0 rejected=0" in out
    taka = JobSeeker.objects.get(number="27010-00000003")
    assert taka.name == "髙橋一郎"
    assert taka.name_kana == "タカハシイチロウ"
    assert taka.office == "ハローワーク梅田"
    assert JobSeeker.objects.get(number="13010-00000002").birth_date == dt.date(1985, 12, 31)
    assert set(JobSeeker.objects.values_list("status", flat=True)) == {"pending"}


def test_bom_header_is_not_part_of_first_column(write_csv):
    path = write_csv(ROWS[:1], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfjob_seeker_number")
    run_import(path)
    assert JobSeeker.objects.filter(number="13010-00000001").exists()


def test_bad_rows_reported_with_line_numbers_while_good_rows_land(write_csv):
    path = write_csv(
        [
            ROWS[0],  # line 2
            "13010-00000004,鈴木次郎,スズキジロウ,not-an-address,1990-04-01,",  # line 3
            ROWS[1],  # line 4
            "13010-00000005,田中三郎,タナカサブロウ,saburo@example.jp,1990-02-30,",  # line 5
            "13010-00000001,山田太郎,ヤマダタロウ,other@example.jp,1990-04-01,",  # line 6
            "13010-00000006,伊藤四郎,イトウシロウ,taro@example.jp,1990-04-01,",  # line 7
            "1301000000007,,イトウ,x@example.jp,1990-04-01,",  # line 8
            ROWS[2],  # line 9
        ]
    )
    out, err, error = run_import(path)
    assert error is not None
    assert error.returncode != 0
    assert "created=3 updated=0 unchanged=0 rejected=5" in out
    lines = err.strip().splitlines()
    assert lines[0].startswith("3行目: ") and "メールアドレスの形式" in lines[0]
    assert lines[1].startswith("5行目: ") and "存在しない日付" in lines[1]
    assert lines[2].startswith("6行目: ") and "2 行目と重複" in lines[2]
    assert lines[3].startswith("7行目: ") and "別の求職者（13010-00000001）" in lines[3]
    assert lines[4].startswith("8行目: ")
    assert "5桁-8桁" in lines[4] and "氏名を入力してください" in lines[4]
    assert sorted(JobSeeker.objects.values_list("number", flat=True)) == [
        "13010-00000001",
        "13010-00000002",
        "27010-00000003",
    ]
    # The duplicate on line 6 did not overwrite line 2.
    assert JobSeeker.objects.get(number="13010-00000001").email == "taro@example.jp"


def test_exit_status_nonzero_on_rejected_rows_only(write_csv):
    _, _, error = run_import(write_csv(ROWS))
    assert error is None
    _, _, error = run_import(write_csv(["13010-00000009,山田,ヤマダ,bad,1990-04-01,"]))
    assert error is not None and error.returncode == 1


def test_reimport_of_same_file_changes_nothing(write_csv, clock):
    path = write_csv(ROWS)
    run_import(path)
    before = list(JobSeeker.objects.order_by("number").values())
    events_before = AuditEvent.objects.exclude(action="jobseeker.import").count()
    clock.advance(minutes=5)
    out, err, error = run_import(path)
    assert error is None, err
    assert "created=0 updated=0 unchanged=3 rejected=0" in out
    assert list(JobSeeker.objects.order_by("number").values()) == before
    assert AuditEvent.objects.exclude(action="jobseeker.import").count() == events_before
    assert AuditEvent.objects.filter(action="jobseeker.import").count() == 2


def test_reimport_with_rejected_rows_is_stable(write_csv):
    path = write_csv([ROWS[0], ROWS[0].replace("山田太郎", "山田次郎")])
    first = run_import(path)
    second = run_import(path)
    assert "created=1 updated=0 unchanged=0 rejected=1" in first[0]
    assert "created=0 updated=0 unchanged=1 rejected=1" in second[0]
    assert JobSeeker.objects.get().name == "山田太郎"


def test_email_change_while_pending_is_accepted(write_csv):
    run_import(write_csv(ROWS))
    changed = ROWS[0].replace("taro@example.jp", "Taro.New@Example.jp")
    out, err, error = run_import(write_csv([changed, *ROWS[1:]]))
    assert error is None, err
    assert "created=0 updated=1 unchanged=2 rejected=0" in out
    assert JobSeeker.objects.get(number="13010-00000001").email == "taro.new@example.jp"
    event = AuditEvent.objects.get(action="jobseeker.updated")
    assert event.target_id == "13010-00000001"
    assert event.detail == {"source": "import", "fields": ["email"]}


def test_email_change_once_active_is_refused(write_csv):
    run_import(write_csv(ROWS))
    JobSeeker.objects.filter(number="13010-00000001").update(status=JobSeeker.Status.ACTIVE)
    changed = ROWS[0].replace("taro@example.jp", "taro.new@example.jp")
    renamed = ROWS[1].replace("佐藤花子", "佐藤はな子")
    out, err, error = run_import(write_csv([changed, renamed, ROWS[2]]))
    assert error is not None
    assert "created=0 updated=1 unchanged=1 rejected=1" in out
    assert err.startswith("2行目: ") and "マイページ開設済み" in err
    assert JobSeeker.objects.get(number="13010-00000001").email == "taro@example.jp"
    assert JobSeeker.objects.get(number="13010-00000002").name == "佐藤はな子"


def test_other_changes_of_an_active_account_are_accepted(write_csv):
    run_import(write_csv(ROWS))
    JobSeeker.objects.filter(number="13010-00000001").update(status=JobSeeker.Status.ACTIVE)
    # Same address, other case: not an e-mail change.
    row = ROWS[0].replace("ハローワーク渋谷", "ハローワーク新宿").replace("taro@", "TARO@")
    _out, err, error = run_import(write_csv([row]))
    assert error is None, err
    seeker = JobSeeker.objects.get(number="13010-00000001")
    assert (seeker.office, seeker.email, seeker.status) == (
        "ハローワーク新宿",
        "taro@example.jp",
        "active",
    )
    assert AuditEvent.objects.get(action="jobseeker.updated").detail["fields"] == ["office"]


def test_full_width_input_is_normalised(write_csv):
    row = ",".join(
        [
            "１３０１０－０００００１２３",
            "山田　太郎",
            "ﾔﾏﾀﾞﾀﾛｳ",
            " ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ ",
            "１９９０／４／１",
            "",
        ]
    )
    for encoding in ("utf-8", "cp932"):
        JobSeeker.objects.all().delete()
        _out, err, error = run_import(write_csv([row], encoding=encoding))
        assert error is None, err
        seeker = JobSeeker.objects.get()
        assert seeker.number == "13010-00000123"
        assert seeker.name == "山田 太郎"
        assert seeker.name_kana == "ヤマダタロウ"
        assert seeker.email == "taro@example.jp"
        assert seeker.birth_date == dt.date(1990, 4, 1)


def test_header_in_any_order_office_optional_blank_lines_skipped(write_csv):
    path = write_csv(
        ["", "taro@example.jp,1990-04-01,13010-00000001,山田太郎,ヤマダタロウ", "", "bad"],
        header=" Email ,birth_date,JOB_SEEKER_NUMBER,name,name_kana",
    )
    out, err, _error = run_import(path)
    assert JobSeeker.objects.get().office == ""
    assert "created=1" in out
    assert err.startswith("5行目: ")  # physical line, blank lines counted


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("job_seeker_number,name,name_kana,birth_date", "必須の列がありません：email"),
        ("job_seeker_number,name,name_kana,email,birth_date,phone", "不明な列があります：phone"),
        ("job_seeker_number,name,name,name_kana,email,birth_date", "列名が重複しています：name"),
    ],
)
def test_missing_or_unknown_header_is_a_clear_error(write_csv, header, fragment):
    path = write_csv(
        ["13010-00000001,山田太郎,ヤマダタロウ,taro@example.jp,1990-04-01"], header=header
    )
    _, _, error = run_import(path)
    assert error is not None and fragment in str(error)
    assert "job_seeker_number,name,name_kana,email,birth_date,office" in str(error)
    assert not JobSeeker.objects.exists()
    assert not AuditEvent.objects.exists()


def test_empty_and_undecodable_files_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\r\n")
    with pytest.raises(ImportFileError, match="空"):
        jobseeker_import(empty)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"job_seeker_number\r\n\x82\xff\xfe\x80\x81\r\n")
    with pytest.raises(ImportFileError, match="文字コード"):
        jobseeker_import(garbage)


def test_extra_cells_and_short_rows(write_csv):
    path = write_csv(
        [
            ROWS[0] + ",",  # trailing empty cell: fine
            ROWS[1] + ",extra",  # a value beyond the header: refused
            "27010-00000003,髙橋一郎,タカハシイチロウ,ichiro@example.jp",  # no birth date
        ]
    )
    out, err, _error = run_import(path)
    assert "created=1 updated=0 unchanged=0 rejected=2" in out
    assert "3行目: 見出しより列が多く" in err
    assert "4行目: 生年月日" in err


def test_audit_one_event_per_run_and_per_changed_row(write_csv):
    path = write_csv(ROWS, name="counter-2026-11.csv")
    run_import(path)
    run_event = AuditEvent.objects.get(action="jobseeker.import")
    assert run_event.target_id == "counter-2026-11.csv"
    assert run_event.actor_label.startswith("manage.py import_jobseekers")
    assert run_event.detail == {
        "file": "counter-2026-11.csv",
        "encoding": "utf-8",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "completed": True,
    }
    created = AuditEvent.objects.filter(action="jobseeker.created")
    assert sorted(created.values_list("target_id", flat=True)) == [
        "13010-00000001",
        "13010-00000002",
        "27010-00000003",
    ]
    assert {e.detail["source"] for e in created} == {"import"}


def test_duplicates_across_batches_and_rules_per_batch(write_csv):
    """Batches of 2 lines: a number met in an earlier batch is still a duplicate; an address
    written by an earlier batch belongs to that job seeker."""
    path = write_csv(
        [
            ROWS[0],  # line 2, batch 1
            ROWS[1],  # line 3, batch 1
            ROWS[2],  # line 4, batch 2
            ROWS[0].replace("山田太郎", "山田次郎"),  # line 5, batch 2: duplicate of line 2
            "13010-00000008,山本,ヤマモト,hanako@example.jp,1990-04-01,",  # line 6, batch 3
        ]
    )
    rejected = []
    result = jobseeker_import(path, batch_size=2, on_reject=lambda *r: rejected.append(r))
    assert (result.created, result.updated, result.unchanged, result.rejected) == (3, 0, 0, 2)
    assert [line for line, _ in rejected] == [5, 6]
    assert "2 行目と重複" in rejected[0][1]
    assert "（13010-00000002）" in rejected[1][1]
    assert JobSeeker.objects.get(number="13010-00000001").name == "山田太郎"


def test_command_line_exit_status(tmp_path, write_csv):
    """The real command line: exit status 0 for a clean file, non-zero with a rejected row."""
    db = tmp_path / "cli.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"sqlite:///{db}",
    }
    root = Path(__file__).resolve().parents[2]
    manage = [sys.executable, str(root / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=root)  # noqa: S603
    good = subprocess.run(  # noqa: S603
        [*manage, "import_jobseekers", str(write_csv(ROWS))],
        env=env,
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr
    assert "created=3" in good.stdout
    bad = subprocess.run(  # noqa: S603
        [
            *manage,
            "import_jobseekers",
            str(write_csv([ROWS[0].replace("1990-04-01", "1990-13-01")])),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "2行目: " in bad.stderr
    assert "unchanged=0 rejected=1" in bad.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("concurrent", [True, False])
def test_concurrent_writer_gives_the_same_report(write_csv, concurrent):
    """The writer thread (the default on PostgreSQL outside a transaction) reports the same
    counts and rejections, in line order, as writing in the reading thread."""
    path = write_csv(
        [
            ROWS[0],
            "13010-00000004,鈴木次郎,スズキジロウ,not-an-address,1990-04-01,",
            ROWS[1],
            ROWS[0],
            ROWS[2],
            "13010-00000007,伊藤,イトウ,hanako@example.jp,1990-04-01,",
            "13010-00000008,伊藤,イトウ,ito8@example.jp,1990-04-01,",
        ]
    )
    rejected = []
    result = jobseeker_import(
        path, batch_size=2, concurrent=concurrent, on_reject=lambda *r: rejected.append(r)
    )
    assert (result.created, result.updated, result.unchanged, result.rejected) == (4, 0, 0, 3)
    assert [line for line, _ in rejected] == [3, 5, 7]
    assert JobSeeker.objects.count() == 4
    assert AuditEvent.objects.filter(action="jobseeker.import").count() == 1
