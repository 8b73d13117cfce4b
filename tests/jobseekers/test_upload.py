"""CSV upload in the staff admin: the file is stored, imported by the worker (deliver_mail)
with the command's importer, and the result page lists the counts and every refused line."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.core.origin import RequestOrigin
from portal.jobseekers.models import JobSeeker, JobSeekerUpload
from portal.jobseekers.uploads import csv_cell_safe
from tests.jobseekers.conftest import HEADER
from tests.jobseekers.test_admin import staff_user
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db

UPLOAD = "admin:jobseekers_jobseeker_upload"

LINES = [
    "13010-00000001,山田太郎,やまだたろう,taro@example.jp,1990-04-01,飯田橋",
    "=13010-00000002,佐藤花子,サトウハナコ,hanako@example.jp,1991-05-02,",
    "13010-00000003,鈴木一郎,スズキイチロウ,ichiro@example.jp,1899-01-01,",
    "+cmd,x,x,x@example.jp,1990-01-01,",
    "-2+3,x,x,y@example.jp,1990-01-01,",
    "@SUM(A1),x,x,z@example.jp,1990-01-01,",
    "13010-00000004,高橋次郎,タカハシジロウ,jiro@example.jp,1992-06-03,",
]


@pytest.fixture
def counter(client, settings, tmp_path):
    settings.CSV_UPLOAD_DIR = tmp_path / "uploads"
    user = staff_user()
    staff_force_login(client, user)
    return user


def upload(client, content: bytes, name="register.csv"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse(UPLOAD), {"file": file})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_upload_imports_through_the_worker_and_reports_every_refused_line(
    client, counter, settings, encoding
):
    content = ("\r\n".join([HEADER, *LINES]) + "\r\n").encode(encoding)
    response = upload(client, content)
    assert response.status_code == 302
    record = JobSeekerUpload.objects.get()
    assert response["Location"] == reverse(
        "admin:jobseekers_jobseeker_upload_result", args=[record.pk]
    )
    waiting = client.get(response["Location"])
    assert "取込み待ち" in waiting.content.decode()
    assert waiting["Refresh"] == "3"
    assert "Refresh" not in client.get(response["Location"], {"refresh": "off"})
    assert not JobSeeker.objects.exists()

    call_command("deliver_mail", once=True, stdout=io.StringIO())

    record.refresh_from_db()
    assert record.status == JobSeekerUpload.Status.DONE
    assert (record.rows, record.created, record.rejected) == (7, 2, 5)
    assert record.encoding == encoding
    done = client.get(response["Location"])
    assert "Refresh" not in done
    page = done.content.decode()
    assert "完了" in page
    # Line 1 is the header: lines 3 and 5 to 7 have malformed numbers, line 4 a birth date
    # before 1901.
    for line in (3, 4, 5, 6, 7):
        assert f"<td>{line}</td>" in page
    assert "=13010-00000002,佐藤花子" in page
    assert "1901" in page  # the birth date's reason, in the importer's words
    # The katakana is stored whatever the file had.
    assert JobSeeker.objects.get(number="13010-00000001").name_kana == "ヤマダタロウ"
    # The file is gone once imported.
    assert record.stored_path == ""
    assert list((settings.CSV_UPLOAD_DIR).iterdir()) == []

    download = client.get(reverse("admin:jobseekers_jobseeker_upload_rejections", args=[record.pk]))
    assert download["Content-Type"].startswith("text/csv")
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["行番号", "行の内容", "理由"]
    by_line = {int(row[0]): row for row in rows[1:]}
    assert sorted(by_line) == [3, 4, 5, 6, 7]
    assert by_line[3][1].startswith("'=13010-00000002")
    assert by_line[5][1].startswith("'+cmd")
    assert by_line[6][1].startswith("'-2+3")
    assert by_line[7][1].startswith("'@SUM")
    assert by_line[4][1].startswith("13010-00000003")

    actions = list(
        AuditEvent.objects.filter(action__startswith="jobseeker.").values_list("action", flat=True)
    )
    assert {"jobseeker.upload", "jobseeker.import", "jobseeker.upload_finished"} <= set(actions)
    finished = AuditEvent.objects.get(action="jobseeker.upload_finished")
    assert finished.actor == counter
    assert finished.detail["created"] == 2 and finished.detail["rejected"] == 5


def test_a_file_over_the_limit_is_refused(client, counter, settings):
    settings.CSV_UPLOAD_MAX_MB = 1
    line = "13010-00000001,山田太郎,ヤマダタロウ,taro@example.jp,1990-04-01,飯田橋\r\n"
    content = (HEADER + "\r\n" + line * (1024 * 1024 // len(line.encode()) + 10)).encode()
    response = upload(client, content)
    assert response.status_code == 200
    assert "ファイルが大きすぎます" in response.content.decode()
    assert not JobSeekerUpload.objects.exists()
    assert not (settings.CSV_UPLOAD_DIR.exists() and any(settings.CSV_UPLOAD_DIR.iterdir()))


def test_a_file_that_cannot_be_read_fails_with_the_importers_message(client, counter, settings):
    upload(client, b"number,name\r\n1,2\r\n")
    call_command("deliver_mail", once=True, stdout=io.StringIO())
    record = JobSeekerUpload.objects.get()
    assert record.status == JobSeekerUpload.Status.FAILED
    assert "必須の列がありません" in record.error
    page = client.get(reverse("admin:jobseekers_jobseeker_upload_result", args=[record.pk]))
    assert "必須の列がありません" in page.content.decode()
    assert list(settings.CSV_UPLOAD_DIR.iterdir()) == []


def test_only_staff_who_may_add_can_upload(client, settings, tmp_path):
    settings.CSV_UPLOAD_DIR = tmp_path
    staff_force_login(client, staff_user(email="viewer@example.jp", group="管理者"))
    assert client.get(reverse(UPLOAD)).status_code == 200
    client.logout()
    assert client.get(reverse(UPLOAD)).status_code == 302  # to the login page


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("13010-00000001", "13010-00000001"),
        ("", ""),
    ],
)
def test_csv_cell_safe(value, expected):
    assert csv_cell_safe(value) == expected


@pytest.mark.django_db(transaction=True)
# SQLite's test database is in memory with a shared cache, whose table locks fail at once
# instead of waiting on the busy timeout, so a second thread cannot share it reliably.
@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="threads need a database server (PostgreSQL)"
)
def test_the_running_mail_worker_imports_an_upload_in_its_own_thread(
    client, settings, tmp_path, monkeypatch
):
    import threading
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.jobseekers.uploads import jobseeker_upload_create
    from portal.mail.management.commands import deliver_mail

    settings.CSV_UPLOAD_DIR = tmp_path / "uploads"
    content = ("\r\n".join([HEADER, LINES[0]]) + "\r\n").encode()
    upload = jobseeker_upload_create(
        SimpleUploadedFile("one.csv", content), actor=None, origin=RequestOrigin(ip="127.0.0.1")
    )
    monkeypatch.setattr(deliver_mail.signal, "signal", lambda *args: None)
    command = deliver_mail.Command()
    worker = threading.Thread(target=command.handle, kwargs={"batch_size": 10, "idle_sleep": 0.1})
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            upload.refresh_from_db()
            if upload.finished:
                break
            time.sleep(0.2)
    finally:
        command.stopping = True
        worker.join(timeout=30)
    assert upload.status == JobSeekerUpload.Status.DONE
    assert JobSeeker.objects.filter(number="13010-00000001").exists()
