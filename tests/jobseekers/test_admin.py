import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.jobseekers.models import JobSeeker
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:jobseekers_jobseeker_changelist"


def staff_user(email="counter@example.jp", group="窓口職員"):
    user = User.objects.create_user(email, "Staff#pass1", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def counter(client):
    user = staff_user()
    staff_force_login(client, user)
    return user


@pytest.fixture
def seekers(make_jobseeker):
    return [
        make_jobseeker(name="山田太郎", name_kana="ヤマダタロウ", email="taro@example.jp"),
        make_jobseeker(
            name="佐藤花子", name_kana="サトウハナコ", email="hanako@example.jp", office="渋谷"
        ),
        make_jobseeker(number="27010-00000077", name="髙橋一郎", name_kana="タカハシイチロウ"),
    ]


def listed(response):
    assert response.status_code == 200
    return {js.number for js in response.context["cl"].result_list}


def edit_data(seeker, **changes):
    data = {
        "name": seeker.name,
        "name_kana": seeker.name_kana,
        "email": seeker.email,
        "birth_date": seeker.birth_date.isoformat(),
        "office": seeker.office,
    }
    data.update(changes)
    return data


def test_groups_created_by_migration():
    counter = set(Group.objects.get(name="窓口職員").permissions.values_list("codename", flat=True))
    assert counter == {
        "add_jobseeker",
        "change_jobseeker",
        "view_jobseeker",
        "view_auditevent",
        "view_jobseekeraccount",
    }
    administrators = Group.objects.get(name="管理者").permissions
    for codename in ("delete_jobseeker", "change_user", "add_user", "view_auditevent"):
        assert administrators.filter(codename=codename).exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("13010-00000001", {"13010-00000001"}),
        ("27010", {"27010-00000077"}),
        ("１３０１０－０００００００２", {"13010-00000002"}),  # full-width digits
        ("花子", {"13010-00000002"}),
        ("ヤマダ", {"13010-00000001"}),
        ("ﾀｶﾊｼ", {"27010-00000077"}),  # half-width kana
        ("hanako@", {"13010-00000002"}),
        ("TARO@EXAMPLE", {"13010-00000001"}),
        ("nobody", set()),
    ],
)
def test_search_by_number_name_kana_and_email(client, counter, seekers, query, expected):
    response = client.get(reverse(CHANGELIST), {"q": query})
    assert listed(response) == expected


def test_filter_by_status_and_office(client, counter, seekers):
    JobSeeker.objects.filter(number="13010-00000001").update(status="active")
    assert listed(client.get(reverse(CHANGELIST), {"status__exact": "active"})) == {
        "13010-00000001"
    }
    assert listed(client.get(reverse(CHANGELIST), {"office": "渋谷"})) == {"13010-00000002"}
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "状態" in page and "ハローワーク" in page


def test_add_through_the_service_normalises_and_audits(client, counter):
    response = client.post(
        reverse("admin:jobseekers_jobseeker_add"),
        {
            "number": "１３０１０－０００００１２３",
            "name": "山田　太郎",
            "name_kana": "ﾔﾏﾀﾞﾀﾛｳ",
            "email": "ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ",
            "birth_date": "１９９０／４／１",
            "office": "",
        },
        REMOTE_ADDR="192.0.2.10",
    )
    assert response.status_code == 302, response.content.decode()
    seeker = JobSeeker.objects.get()
    assert (seeker.number, seeker.name_kana, seeker.email) == (
        "13010-00000123",
        "ヤマダタロウ",
        "taro@example.jp",
    )
    assert seeker.birth_date == dt.date(1990, 4, 1)
    event = AuditEvent.objects.get(action="jobseeker.created")
    assert (event.actor, event.ip, event.target_id) == (counter, "192.0.2.10", "13010-00000123")
    assert event.detail == {"source": "admin"}


def test_staff_change_is_an_audit_event(client, counter, seekers):
    seeker = seekers[0]
    AuditEvent.objects.all().delete()
    response = client.post(
        reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]),
        edit_data(seeker, name="山田次郎", email="taro.new@example.jp"),
        REMOTE_ADDR="192.0.2.20",
    )
    assert response.status_code == 302, response.content.decode()
    seeker.refresh_from_db()
    assert (seeker.name, seeker.email) == ("山田次郎", "taro.new@example.jp")
    event = AuditEvent.objects.get()
    assert event.action == "jobseeker.updated"
    assert event.actor == counter
    assert event.actor_label == "counter@example.jp"
    assert event.ip == "192.0.2.20"
    assert event.target_id == seeker.number
    assert event.detail == {"source": "admin", "fields": ["name", "email"]}


def test_saving_unchanged_writes_no_event(client, counter, seekers):
    AuditEvent.objects.all().delete()
    seeker = seekers[1]
    response = client.post(
        reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]), edit_data(seeker)
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"birth_date": "1990-02-30"}, "存在しない日付"),
        ({"email": "hanako@example.jp"}, "別の求職者（13010-00000002）に登録済み"),
        ({"email": "not-an-address"}, "メールアドレスの形式"),
        ({"name_kana": "ア" * 101}, "100文字以内"),
    ],
)
def test_invalid_change_is_refused_with_the_reason(client, counter, seekers, changes, fragment):
    seeker = seekers[0]
    response = client.post(
        reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]),
        edit_data(seeker, **changes),
    )
    assert response.status_code == 200
    assert fragment in response.content.decode()
    seeker.refresh_from_db()
    assert seeker.email == "taro@example.jp" and seeker.birth_date == dt.date(1990, 4, 1)


def test_add_of_an_existing_number_is_refused(client, counter, seekers):
    response = client.post(
        reverse("admin:jobseekers_jobseeker_add"),
        {**edit_data(seekers[0], email="x@example.jp"), "number": seekers[0].number},
    )
    assert response.status_code == 200
    assert "既に登録されています" in response.content.decode()


def test_opened_account_email_is_read_only_other_fields_editable(client, counter, seekers):
    seeker = seekers[0]
    JobSeeker.objects.filter(pk=seeker.pk).update(status="active")
    url = reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk])
    page = client.get(url).content.decode()
    assert 'name="email"' not in page
    data = edit_data(seeker, office="新宿")
    del data["email"]
    response = client.post(url, {**data, "email": "sneaky@example.jp"})
    assert response.status_code == 302
    seeker.refresh_from_db()
    assert (seeker.office, seeker.email) == ("新宿", "taro@example.jp")


def test_delete_by_administrator_is_audited_counter_staff_cannot(client, seekers):
    seeker = seekers[0]
    delete_url = reverse("admin:jobseekers_jobseeker_delete", args=[seeker.pk])
    staff_force_login(client, staff_user())
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    staff_force_login(client, staff_user("admin@example.jp", group="管理者"))
    response = client.post(delete_url, {"post": "yes"}, REMOTE_ADDR="192.0.2.30")
    assert response.status_code == 302
    assert not JobSeeker.objects.filter(pk=seeker.pk).exists()
    event = AuditEvent.objects.get(action="jobseeker.deleted")
    assert (event.target_id, event.ip, event.actor.email) == (
        seeker.number,
        "192.0.2.30",
        "admin@example.jp",
    )


def test_audit_events_are_read_only(client, counter, seekers):
    event = AuditEvent.objects.first()
    page = client.get(reverse("admin:audit_auditevent_changelist"))
    assert page.status_code == 200
    assert seekers[0].number in page.content.decode()
    change_url = reverse("admin:audit_auditevent_change", args=[event.pk])
    detail = client.get(change_url)
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.post(change_url, {"action": "x"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    superuser = User.objects.create_superuser("root@example.jp", "Root#pass1")
    staff_force_login(client, superuser)
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, action=event.action).exists()


def test_counter_staff_cannot_manage_users(client, counter):
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_user_admin_never_shows_a_password_hash(client):
    admin_user = staff_user("admin@example.jp", group="管理者")
    staff_force_login(client, admin_user)
    target = User.objects.create_user("someone@example.jp", "Some#pass12", is_staff=True)
    hash_value = User.objects.get(pk=target.pk).password
    for url in (
        reverse("admin:accounts_user_change", args=[target.pk]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:auth_user_password_change", args=[target.pk]),
        reverse("admin:accounts_user_add"),
    ):
        page = client.get(url).content.decode()
        assert hash_value not in page
        assert hash_value.split("$")[-1] not in page
        # Whole words: a page's random CSRF token may hold the letters "md5" by chance.
        assert not re.search(r"\b(md5|argon2)\b", page, re.IGNORECASE)
        assert 'name="password"' not in page
    page = client.get(reverse("admin:accounts_user_change", args=[target.pk])).content.decode()
    assert "設定済み" in page and "パスワードを設定する" in page


def test_user_admin_changes_are_audited(client):
    admin_user = staff_user("admin@example.jp", group="管理者")
    staff_force_login(client, admin_user)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Staff@Example.jp",
            "display_name": "新人",
            "password1": "Fresh#pass123",
            "password2": "Fresh#pass123",
        },
    )
    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(email="new.staff@example.jp")
    assert user.check_password("Fresh#pass123")
    group = Group.objects.get(name="窓口職員")
    response = client.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        {
            "display_name": "新人",
            "is_active": "on",
            "groups": [group.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()
    response = client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "Other#pass456", "password2": "Other#pass456"},
    )
    assert response.status_code == 302, response.content.decode()
    events = list(AuditEvent.objects.filter(target_type="user").order_by("id"))
    assert [(e.action, e.detail.get("fields")) for e in events] == [
        ("user.created", ["display_name", "email"]),
        ("user.updated", ["groups"]),
        ("user.password_set", None),
    ]
    assert {e.actor for e in events} == {admin_user}
    assert all("Fresh" not in str(e.detail) and "Other" not in str(e.detail) for e in events)
