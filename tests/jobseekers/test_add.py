import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker

pytestmark = pytest.mark.django_db


def test_add_jobseeker_command_registers_pending_with_audit():
    call_command(
        "add_jobseeker",
        "--number", "13010-00000001",
        "--name", "山田太郎",
        "--kana", "ヤマダタロウ",
        "--email", "Taro@Example.jp",
        "--birth-date", "1990-04-01",
    )  # fmt: skip
    seeker = JobSeeker.objects.get(number="13010-00000001")
    assert seeker.email == "taro@example.jp"
    assert seeker.birth_date == dt.date(1990, 4, 1)
    assert seeker.status == JobSeeker.Status.PENDING
    event = AuditEvent.objects.get(action="jobseeker.created")
    assert event.target_id == "13010-00000001"
    assert event.actor_label == "manage.py add_jobseeker"


def test_add_normalises_full_width_input():
    call_command(
        "add_jobseeker",
        "--number", "１３０１０－０００００００２",
        "--name", "山田花子",
        "--kana", "ﾔﾏﾀﾞﾊﾅｺ",
        "--email", " ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ ",
        "--birth-date", "１９９２／３／４",
    )  # fmt: skip
    seeker = JobSeeker.objects.get(number="13010-00000002")
    assert seeker.email == "hanako@example.jp"
    assert seeker.name_kana == "ヤマダハナコ"
    assert seeker.birth_date == dt.date(1992, 3, 4)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("--number", "1301000000001", "5桁-8桁"),
        ("--email", "not-an-address", "形式"),
        ("--birth-date", "1990-02-30", "存在しない日付"),
        ("--birth-date", "1899-01-01", "1901年以降"),
        ("--birth-date", "2999-01-01", "今日より前"),
    ],
)
def test_add_rejects_bad_values_with_reason(field, value, fragment):
    args = {
        "--number": "13010-00000003",
        "--name": "山田太郎",
        "--kana": "ヤマダタロウ",
        "--email": "taro3@example.jp",
        "--birth-date": "1990-04-01",
    }
    args[field] = value
    with pytest.raises(CommandError, match=fragment):
        call_command("add_jobseeker", *[x for pair in args.items() for x in pair])
    assert not JobSeeker.objects.exists()


def test_email_unique_regardless_of_case(make_jobseeker):
    make_jobseeker(email="same@example.jp")
    with pytest.raises(Exception, match="別の求職者"):
        make_jobseeker(email="SAME@example.jp")
    assert JobSeeker.objects.count() == 1
