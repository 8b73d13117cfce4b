"""The importer stays bounded: control characters are refused per row (a NUL never reaches the
database), and an oversized header, field or line is refused with a clear message without the
line being read whole."""

import tracemalloc

import pytest

from portal.jobseekers.importer import (
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_LINE_BYTES,
    ImportFileError,
    jobseeker_import,
)
from portal.jobseekers.models import JobSeeker
from tests.jobseekers.conftest import HEADER
from tests.jobseekers.test_import import ROWS

pytestmark = pytest.mark.django_db


def import_collecting(path, **kwargs):
    refused = []
    result = jobseeker_import(
        path, on_reject=lambda line, msg: refused.append((line, msg)), **kwargs
    )
    return result, refused


def test_a_nul_in_a_name_refuses_that_row_and_the_others_land(write_csv):
    path = write_csv(
        [
            ROWS[0],
            "13010-00000009,山田\x00花子,ヤマダハナコ,hanako9@example.jp,1990-04-01,",
            ROWS[2],
        ]
    )
    result, refused = import_collecting(path)
    assert result.completed
    assert (result.created, result.rejected) == (2, 1)
    assert [line for line, _ in refused] == [3]
    assert "制御文字（U+0000）" in refused[0][1] and "name" in refused[0][1]
    assert set(JobSeeker.objects.values_list("number", flat=True)) == {
        "13010-00000001",
        "27010-00000003",
    }
    assert not any("\x00" in name for name in JobSeeker.objects.values_list("name", flat=True))


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\n", "\r"])
@pytest.mark.parametrize("column", range(6))
def test_control_characters_are_refused_in_every_field(write_csv, char, column):
    cells = ROWS[0].split(",")
    cells[column] = cells[column][:2] + char + cells[column][2:]
    row = ",".join(f'"{cell}"' for cell in cells)  # quoted, so \n and \r stay in the field
    path = write_csv([ROWS[1], row])
    result, refused = import_collecting(path)
    assert result.created == 1
    assert [line for line, _ in refused] == [3]
    assert "制御文字" in refused[0][1]
    assert HEADER.split(",")[column] in refused[0][1]


def test_a_tab_is_not_a_refused_control_character(write_csv):
    path = write_csv(["13010-00000001,山田\t太郎,ヤマダタロウ,taro@example.jp,1990-04-01,"])
    _result, refused = import_collecting(path)
    assert not any("制御文字" in message for _, message in refused)


def test_a_header_over_the_column_limit_is_refused(write_csv):
    header = HEADER + "," + ",".join(f"extra{i}" for i in range(MAX_COLUMNS))
    path = write_csv(ROWS, header=header)
    with pytest.raises(ImportFileError, match=f"見出しの列が多すぎます.*{MAX_COLUMNS} 列まで"):
        jobseeker_import(path)
    assert not JobSeeker.objects.exists()


def test_a_header_of_many_thousand_columns_is_refused(write_csv):
    header = ",".join(f"c{i}" for i in range(40_000))
    path = write_csv(ROWS, header=header)
    with pytest.raises(ImportFileError, match="1行が長すぎます"):
        jobseeker_import(path)


def test_duplicated_header_columns_are_named(write_csv):
    path = write_csv(ROWS, header=HEADER + ",name,email")
    with pytest.raises(ImportFileError, match="列名が重複しています：email, name"):
        jobseeker_import(path)


def test_a_field_over_the_limit_is_refused_with_its_line(write_csv):
    long_name = "あ" * (MAX_FIELD_CHARS + 1)
    path = write_csv(
        [
            ROWS[0],
            f"13010-00000009,{long_name},ヤマダハナコ,hanako9@example.jp,1990-04-01,",
            ROWS[2],
        ]
    )
    result, refused = import_collecting(path)
    assert result.created == 2
    assert [line for line, _ in refused] == [3]
    assert f"{MAX_FIELD_CHARS} 文字以内" in refused[0][1] and "name" in refused[0][1]


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_a_line_over_the_limit_is_refused_and_reading_goes_on(write_csv, encoding):
    # Short in characters, over the limit in bytes: the limit is on the encoded line.
    wide = "あ" * (MAX_LINE_BYTES // 2 + 1)
    path = write_csv([ROWS[0], f"13010-00000009,{wide}", ROWS[2]], encoding=encoding)
    result, refused = import_collecting(path)
    assert result.created == 2
    assert [line for line, _ in refused] == [3]
    assert "1行が長すぎます（64 KiB" in refused[0][1]


def test_a_quoted_record_spanning_lines_is_bounded_too(write_csv):
    piece = "a" * 1000
    record = '13010-00000009,"' + "\r\n".join([piece] * 80) + '",x,y@example.jp,1990-04-01,'
    path = write_csv([ROWS[0], record])
    result, refused = import_collecting(path)
    assert result.created == 1
    assert refused and refused[0][0] == 3
    assert "1行が長すぎます" in refused[0][1]


def test_a_huge_line_is_never_held_in_memory(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write(HEADER + "\r\n" + ROWS[0] + "\r\n")
        for _ in range(16):
            stream.write("a," * (512 * 1024))  # 16 MiB of tiny fields on one line
        stream.write("\r\n" + ROWS[2] + "\r\n")
    tracemalloc.start()
    try:
        result, refused = import_collecting(path, concurrent=False)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.created == 2
    assert [line for line, _ in refused] == [3]
    assert peak < 8 * 1024 * 1024
