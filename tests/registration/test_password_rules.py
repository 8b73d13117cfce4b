"""Each password rule of the seed (docs/architecture.md, "Password policy"), named in its own
message on screen ③."""

import pytest
from django.urls import reverse

from portal.jobseekers.models import JobSeeker
from portal.registration.models import RegistrationFlow
from tests.registration.journey import GOOD_PASSWORD, Journey, deliver_mail, key_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_step_three(make_jobseeker, smtp_server):
    make_jobseeker(email="hanako.sato@example.jp")
    journey = Journey()
    journey.start("hanako.sato@example.jp")
    deliver_mail()
    journey.key = key_from(smtp_server.to("hanako.sato@example.jp")[0])
    return journey


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1#xyz", "8文字以上32文字以内"),
        ("Ab1#" + "x" * 29, "8文字以上32文字以内"),
        ("Abcdefg#", "半角数字"),
        ("12345678#", "半角英字"),
        ("Abcdefg12", "半角記号"),
        ("Ａｂｃ１２３＃ｘ", "全角文字が含まれています"),
        ("Abc 123#x", "空白は使えません"),
        ("Password1!", "一般的"),  # Django's common-password list
        ("hanako.sato1!", "「@」より前の部分"),
    ],
)
def test_each_rule_has_its_own_message(at_step_three, password, message):
    response = at_step_three.complete(at_step_three.key, password=password)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html
    # A failed rule does not use up a key attempt, and the account stays pending.
    assert "認証キーが正しくありません" not in html
    assert RegistrationFlow.objects.get().wrong_keys == 0
    assert JobSeeker.objects.get(email="hanako.sato@example.jp").status == "pending"


def test_full_width_password_is_refused_not_converted(at_step_three):
    full = "".join(chr(ord(c) + 0xFEE0) for c in GOOD_PASSWORD)
    response = at_step_three.complete(at_step_three.key, password=full)
    assert "全角文字が含まれています" in response.content.decode()


def test_several_failures_are_each_named(at_step_three):
    response = at_step_three.complete(at_step_three.key, password="abc")
    html = response.content.decode()
    for message in ("8文字以上32文字以内", "半角数字", "半角記号"):
        assert message in html


def test_confirmation_must_match(at_step_three):
    response = at_step_three.complete(at_step_three.key, confirm=GOOD_PASSWORD + "x")
    assert "確認用のパスワードが一致しません" in response.content.decode()


def test_key_format_is_explained(at_step_three):
    response = at_step_three.complete("12ab")
    assert "8桁の数字" in response.content.decode()


def test_rules_are_configurable(at_step_three, settings):
    settings.PASSWORD_REQUIRE_SYMBOL = False
    settings.PASSWORD_MIN_LENGTH = 10
    assert "10文字以上" in at_step_three.complete(at_step_three.key, "Abcdefg12").content.decode()
    response = at_step_three.complete(at_step_three.key, password="Abcdefgh12")
    assert response.url == reverse("registration:done")


def test_identity_form_messages(db):
    journey = Journey()
    journey.agree()
    response = journey.client.post(
        reverse("registration:identity"),
        {"email": "taro@", "birth_year": "１９９０", "birth_month": "2", "birth_day": "30"},
    )
    html = response.content.decode()
    assert "<title>エラー：" in html
    assert "メールアドレスの形式が正しくありません" in html
    assert "存在しない日付" in html
    long_address = "a" * 95 + "@example.jp"
    response = journey.client.post(
        reverse("registration:identity"),
        {"email": long_address, "birth_year": "", "birth_month": "x", "birth_day": "1"},
    )
    html = response.content.decode()
    assert "100文字以内" in html
    assert "生年月日の年を入力してください" in html
