import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from portal.jobseekers.parsing import email_valid, jobseeker_parse

ADDRESSES = [
    "taro@example.jp",
    "taro.yamada+tag@mail.example.co.jp",
    "a@b.c",
    "a@localhost",
    "user@[192.0.2.1]",
    "user@[IPv6:2001:db8::1]",
    "user@[2001:db8::1]",
    "user@[999.1.1.1]",
    '"quoted local"@example.jp',
    '"quo\\"ted"@example.jp',
    "x@example",
    "x@-example.jp",
    "x@example-.jp",
    "x@exa_mple.jp",
    "x@example.jp.",
    "x@example..jp",
    ".x@example.jp",
    "x.@example.jp",
    "x..y@example.jp",
    "x@" + "a" * 63 + ".jp",
    "x@" + "a" * 64 + ".jp",
    "x@example.j",
    "x@example.123",
    "x@xn--fsq.jp",
    "x@例え.jp",
    "@example.jp",
    "x@",
    "x",
    "",
    "x@@example.jp",
    "x@y@example.jp",
    "!#$%&'*+/=?^_`{|}~-@example.jp",
    "x" * 310 + "@example.jp",
    "x" * 320 + "@example.jp",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_email_valid_agrees_with_django(address):
    try:
        validate_email(address)
        expected = True
    except ValidationError:
        expected = False
    assert email_valid(address) is expected


def test_parse_normalises_and_reports_every_bad_field():
    record = jobseeker_parse(
        {
            "number": "１３０１０－００００００１２",
            "name": "　山田　太郎　",
            "name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ",
            "email": " Taro @ Example.JP ",
            "birth_date": dt.date(1990, 4, 1),
        },
        today=dt.date(2026, 1, 1),
    )
    assert (record.number, record.name, record.name_kana, record.email, record.office) == (
        "13010-00000012",
        "山田 太郎",
        "ヤマダ タロウ",
        "taro@example.jp",
        "",
    )
    with pytest.raises(ValidationError) as caught:
        jobseeker_parse(
            {
                "number": "x",
                "name": "",
                "name_kana": "ア" * 101,
                "email": "ｘ",
                "birth_date": "1900-12-31",
            },
            today=dt.date(2026, 1, 1),
        )
    errors = caught.value.message_dict
    assert list(errors) == ["number", "name", "name_kana", "email", "birth_date"]
    assert "5桁-8桁" in errors["number"][0]
    assert errors["name"] == ["氏名を入力してください。"]
    assert errors["name_kana"] == ["氏名（カナ）は100文字以内で入力してください。"]
    assert "形式" in errors["email"][0]
    assert "1901年以降" in errors["birth_date"][0]


def test_birth_date_today_is_not_in_the_past():
    raw = {"number": "13010-00000001", "name": "a", "name_kana": "a", "email": "a@b.jp"}
    with pytest.raises(ValidationError, match="今日より前"):
        jobseeker_parse({**raw, "birth_date": "2026-01-01"}, today=dt.date(2026, 1, 1))
    assert jobseeker_parse({**raw, "birth_date": "2025-12-31"}, today=dt.date(2026, 1, 1))
