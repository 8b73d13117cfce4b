"""The job seeker's own language on the register: the CSV column `language` (optional: a file
without it keeps what the register holds), add_jobseeker --language, and the clerk's admin."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker
from tests.jobseekers.test_import import run_import
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db

WITH_LANGUAGE = "job_seeker_number,name,name_kana,email,birth_date,office,language"


def _languages():
    return dict(JobSeeker.objects.values_list("number", "language"))


def test_the_csv_column_sets_and_changes_the_language(write_csv):
    rows = [
        "13010-00000001,山田太郎,ヤマダタロウ,taro@example.jp,1990-04-01,,en",
        "13010-00000002,佐藤花子,サトウハナコ,hanako@example.jp,1985-12-31,,",
        "13010-00000003,髙橋一郎,タカハシイチロウ,ichiro@example.jp,2001-02-03,,ＥＮ",
    ]
    _out, _err, error = run_import(write_csv(rows, header=WITH_LANGUAGE))
    assert error is None
    assert _languages() == {"13010-00000001": "en", "13010-00000002": "ja", "13010-00000003": "en"}
    rows[0] = rows[0].replace(",en", ",ja")
    _out, _err, error = run_import(write_csv(rows, header=WITH_LANGUAGE))
    assert error is None
    assert _languages()["13010-00000001"] == "ja"
    updated = AuditEvent.objects.filter(action="jobseeker.updated").get()
    assert updated.detail["fields"] == ["language"]


def test_a_file_without_the_column_or_with_an_empty_cell_keeps_the_language(write_csv):
    row = "13010-00000001,山田太郎,ヤマダタロウ,taro@example.jp,1990-04-01,"
    run_import(write_csv([row + ",en"], header=WITH_LANGUAGE))
    out, _err, error = run_import(write_csv([row]))  # the older header, no language column
    assert error is None and "unchanged=1" in out
    out, _err, error = run_import(write_csv([row + ","], header=WITH_LANGUAGE))
    assert error is None and "unchanged=1" in out
    assert _languages() == {"13010-00000001": "en"}


def test_an_unknown_language_is_refused_with_its_line(write_csv):
    row = "13010-00000001,山田太郎,ヤマダタロウ,taro@example.jp,1990-04-01,,fr"
    _out, err, error = run_import(write_csv([row], header=WITH_LANGUAGE))
    assert error is not None
    assert "2行目" in err and "ja, en" in err
    assert not JobSeeker.objects.exists()


def test_add_jobseeker_takes_a_language():
    out = io.StringIO()
    call_command(
        "add_jobseeker",
        "--number=13010-00000009",
        "--name=Emma Clark",
        "--kana=エマ クラーク",
        "--email=emma@example.jp",
        "--birth-date=1992-03-04",
        "--language=en",
        stdout=out,
    )
    assert JobSeeker.objects.get(number="13010-00000009").language == "en"


def test_the_clerk_sets_the_language_in_the_admin(client, make_jobseeker):
    seeker = make_jobseeker(email="clerk@example.jp")
    clerk = User.objects.create_user("counter@example.jp", "Staff#pass1", is_staff=True)
    clerk.groups.add(Group.objects.get(name="窓口職員"))
    staff_force_login(client, clerk)
    url = reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk])
    page = client.get(url).content.decode()
    assert 'name="language"' in page
    data = {
        "name": seeker.name,
        "name_kana": seeker.name_kana,
        "email": seeker.email,
        "birth_date": seeker.birth_date.isoformat(),
        "office": "",
        "language": "en",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:500]
    seeker.refresh_from_db()
    assert seeker.language == "en"
    data["language"] = "xx"
    assert client.post(url, data).status_code == 200  # refused on the form
    seeker.refresh_from_db()
    assert seeker.language == "en"
