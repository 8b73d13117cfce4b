"""The job seeker list (lock and last mail columns, filters, hiragana search), a job seeker's
page (unlock, 履歴, the printed guide, audited) and the audit log in Japanese."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.accounts.selectors import login_lock_status
from portal.audit.models import AuditEvent
from portal.core.origin import RequestOrigin
from portal.jobseekers.models import JobSeeker
from portal.mail.models import OutboundMail
from tests.accounts.conftest import login_post
from tests.jobseekers.test_admin import staff_user
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:jobseekers_jobseeker_changelist"


@pytest.fixture
def counter(client):
    user = staff_user()
    staff_force_login(client, user)
    return user


def lock(email, ip="10.0.0.1"):
    for _ in range(5):
        login_post(Client(), email, "Wrong#pass1", REMOTE_ADDR=ip)
    assert login_lock_status(email, RequestOrigin(ip=ip)).locked


def numbers(response) -> set[str]:
    return {js.number for js in response.context["cl"].result_list}


def test_kana_accepts_hiragana_and_stores_katakana(client, counter):
    response = client.post(
        reverse("admin:jobseekers_jobseeker_add"),
        {"number": "13010-00000009", "name": "山田花子", "name_kana": "やまだ　はなこ",
         "email": "hanako@example.jp", "birth_date": "1990-04-01", "office": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    assert JobSeeker.objects.get(number="13010-00000009").name_kana == "ヤマダ ハナコ"


def test_hiragana_search_finds_katakana(client, counter, make_jobseeker):
    make_jobseeker(name_kana="ヤマダタロウ", email="taro@example.jp")
    make_jobseeker(name_kana="サトウハナコ", email="hanako@example.jp")
    assert numbers(client.get(reverse(CHANGELIST), {"q": "やまだ"})) == {"13010-00000001"}
    assert numbers(client.get(reverse(CHANGELIST), {"q": "ﾔﾏﾀﾞ"})) == {"13010-00000001"}
    # A filter still applies to a kana search.
    response = client.get(reverse(CHANGELIST), {"q": "やまだ", "status__exact": "active"})
    assert numbers(response) == set()


def test_list_shows_lock_and_last_mail_and_filters_them(
    client, counter, make_account, make_jobseeker, no_otp
):
    locked = make_account("locked@example.jp", number="13010-00000101")
    make_account("free@example.jp", number="13010-00000102")
    make_jobseeker(number="13010-00000103", email="failed@example.jp")
    lock(locked.email)
    OutboundMail.objects.create(to="failed@example.jp", kind="k", subject="s", body="b",
                                status=OutboundMail.Status.FAILED)  # fmt: skip
    page = client.get(reverse(CHANGELIST))
    html = page.content.decode()
    assert "ロック中" in html and "送信失敗" in html
    assert numbers(client.get(reverse(CHANGELIST), {"locked": "yes"})) == {"13010-00000101"}
    assert "13010-00000101" not in numbers(client.get(reverse(CHANGELIST), {"locked": "no"}))
    assert numbers(client.get(reverse(CHANGELIST), {"mail": "failed"})) == {"13010-00000103"}
    # A later mail that went out clears the failed state.
    OutboundMail.objects.create(to="failed@example.jp", kind="k", subject="s", body="b",
                                status=OutboundMail.Status.SENT)  # fmt: skip
    assert numbers(client.get(reverse(CHANGELIST), {"mail": "failed"})) == set()


def test_list_query_count_does_not_grow_with_the_page(
    client, counter, make_account, make_jobseeker, no_otp
):
    def queries() -> int:
        client.get(reverse(CHANGELIST))  # the office list is then in the cache
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(CHANGELIST)).status_code == 200
        return len(captured)

    make_account("first@example.jp")
    few = queries()
    for n in range(30):
        make_account(f"many{n}@example.jp")
        make_jobseeker(email=f"pending{n}@example.jp")
    assert queries() == few


def test_unlock_button_on_the_page(client, counter, make_account, no_otp):
    account = make_account("taro@example.jp", number="13010-00001234")
    lock(account.email)
    jobseeker = JobSeeker.objects.get(number="13010-00001234")
    change = reverse("admin:jobseekers_jobseeker_change", args=[jobseeker.pk])
    page = client.get(change).content.decode()
    unlock = reverse("admin:jobseekers_jobseeker_unlock", args=[jobseeker.pk])
    assert f'action="{unlock}"' in page
    assert client.get(unlock).status_code == 405
    response = client.post(unlock, follow=True)
    assert "ログインのロックを解除しました" in response.content.decode()
    assert not login_lock_status(account.email, RequestOrigin(ip="10.0.0.1")).locked
    event = AuditEvent.objects.get(action="account.lock_cleared")
    assert event.actor == counter


def test_opening_the_page_is_audited_and_history_lists_this_persons_events(
    client, counter, make_jobseeker
):
    mine = make_jobseeker(email="mine@example.jp")
    other = make_jobseeker(email="other@example.jp")
    client.get(reverse("admin:jobseekers_jobseeker_change", args=[mine.pk]))
    viewed = AuditEvent.objects.get(action="jobseeker.viewed")
    assert (viewed.target_id, viewed.actor) == (mine.number, counter)
    history = client.get(reverse("admin:jobseekers_jobseeker_history", args=[mine.pk]))
    html = history.content.decode()
    assert "求職者ページの表示" in html and "求職者の登録" in html
    assert [e.target_id for e in history.context["page"].object_list] == [mine.number] * 2
    assert other.number not in html


def test_guide_sheet_holds_url_address_sender_and_steps_and_is_audited(
    client, counter, make_jobseeker, settings
):
    settings.SERVICE_URL = "https://mypage.example.jp/"
    jobseeker = make_jobseeker(email="taro@example.jp", birth_date="1987-06-05")
    response = client.get(reverse("admin:jobseekers_jobseeker_guide", args=[jobseeker.pk]))
    html = response.content.decode()
    assert "https://mypage.example.jp/" in html
    assert "taro@example.jp" in html
    assert settings.MAIL_SENDER in html
    steps = [
        "ステップ1 マイページ利用規約等への同意",
        "ステップ2 メールアドレスの入力（パスワード登録申込）",
        "ステップ3 パスワードの登録",
        "ステップ4 求職者マイページアカウント登録完了、求職者マイページの開設",
    ]
    for step in steps:
        assert step in html
    assert "1987" not in html and jobseeker.number not in html
    event = AuditEvent.objects.get(action="jobseeker.guide_printed")
    assert (event.target_id, event.actor) == (jobseeker.number, counter)


def test_audit_log_in_japanese_with_the_job_seeker_number_and_filters(
    client, counter, make_account, no_otp
):
    account = make_account("taro@example.jp", number="13010-00001234")
    lock(account.email)
    unlock_url = reverse("admin:jobseekers_jobseeker_unlock", args=[account.pk])
    client.post(unlock_url)
    changelist = reverse("admin:audit_auditevent_changelist")
    html = client.get(changelist).content.decode()
    assert "ログインのロック解除" in html
    assert "account.lock_cleared" not in html.split("<tbody>")[1].split("</tbody>")[0]
    cleared = client.get(changelist, {"action": "account.lock_cleared"})
    rows = list(cleared.context["cl"].result_list)
    assert [e.action for e in rows] == ["account.lock_cleared"]
    assert "13010-00001234" in cleared.content.decode()
    by_actor = client.get(changelist, {"actor": str(counter.pk)})
    assert {e.actor_id for e in by_actor.context["cl"].result_list} == {counter.pk}
    today = client.get(changelist, {"created_at__gte": "2000-01-01T00:00:00+09:00"})
    assert len(today.context["cl"].result_list) >= 1
    future = client.get(changelist, {"created_at__gte": "2999-01-01T00:00:00+09:00"})
    assert len(future.context["cl"].result_list) == 0


def test_guide_sheet_is_in_the_job_seekers_language_not_the_clerks(
    client, counter, make_jobseeker, settings
):
    jobseeker = make_jobseeker(email="emma@example.jp")
    jobseeker.language = "en"
    jobseeker.save(update_fields=["language"])
    url = reverse("admin:jobseekers_jobseeker_guide", args=[jobseeker.pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<html lang="en">' in html
    assert "ステップ1" not in html and "emma@example.jp" in html
    assert settings.MAIL_SENDER in html
    # The clerk's own pages stay in the clerk's language.
    page = client.get(reverse("admin:jobseekers_jobseeker_change", args=[jobseeker.pk]))
    assert '<html lang="ja"' in page.content.decode()
