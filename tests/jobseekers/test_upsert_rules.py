"""The rules of jobseeker_upsert_batch. On SQLite they run on the ORM path; on PostgreSQL on the
COPY path (see conftest), and a differential test checks that both paths agree."""

import datetime as dt
import random

import pytest
from django.db import connection, transaction

from portal.audit.models import AuditEvent
from portal.core.origin import NO_REQUEST, RequestOrigin
from portal.jobseekers import services
from portal.jobseekers.models import JobSeeker
from portal.jobseekers.parsing import JobSeekerRecord
from portal.jobseekers.services import jobseeker_upsert_batch

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1990, 4, 1)


def rec(n, email, name="山田太郎", office=""):
    return JobSeekerRecord(f"13010-{n:08d}", name, "ヤマダタロウ", email, BIRTH, office)


def seed(*records, active=()):
    jobseeker_upsert_batch(records, actor_label="seed")
    JobSeeker.objects.filter(number__in=[f"13010-{n:08d}" for n in active]).update(
        status=JobSeeker.Status.ACTIVE
    )
    AuditEvent.objects.all().delete()


def test_rules_in_order():
    seed(rec(1, "a@x.jp"), rec(2, "b@x.jp"), rec(3, "c@x.jp"), rec(4, "k@x.jp"), active=[2])
    batch = [
        rec(10, "d@x.jp"),  # 0 create
        rec(1, "a@x.jp", name="山田次郎"),  # 1 update name
        rec(1, "a@x.jp", name="山田三郎"),  # 2 duplicate number
        rec(11, "b@x.jp"),  # 3 e-mail held by 2
        rec(2, "b2@x.jp"),  # 4 e-mail change of an active account
        rec(12, "b2@x.jp"),  # 5 create: row 4 was refused, so b2 is free
        rec(13, "B2@x.jp"),  # 6 claimed by row 5
        rec(3, "C@X.JP"),  # 7 unchanged (case only)
        rec(14, "d@x.jp"),  # 8 claimed by row 0
        rec(15, "a@x.jp"),  # 9 held by 1
        rec(4, "k2@x.jp"),  # 10 update e-mail (pending)
        rec(16, "k@x.jp"),  # 11 held by 4 at the start of the batch
    ]
    result = jobseeker_upsert_batch(
        batch, actor_label="staff", origin=RequestOrigin(ip="192.0.2.1"), source="test"
    )
    assert (result.created, result.updated, result.unchanged) == (2, 2, 1)
    reasons = dict(result.rejected)
    assert sorted(reasons) == [2, 3, 4, 6, 8, 9, 11]
    assert "重複" in reasons[2]
    assert "別の求職者（13010-00000002）に登録済み" in reasons[3]
    assert "マイページ開設済み" in reasons[4]
    assert "同じ取込み内の別の求職者（13010-00000012）" in reasons[6]
    assert "同じ取込み内の別の求職者（13010-00000010）" in reasons[8]
    assert "別の求職者（13010-00000001）に登録済み" in reasons[9]
    assert "別の求職者（13010-00000004）に登録済み" in reasons[11]
    emails = dict(JobSeeker.objects.values_list("number", "email"))
    assert emails == {
        "13010-00000001": "a@x.jp",
        "13010-00000002": "b@x.jp",
        "13010-00000003": "c@x.jp",
        "13010-00000004": "k2@x.jp",
        "13010-00000010": "d@x.jp",
        "13010-00000012": "b2@x.jp",
    }
    assert JobSeeker.objects.get(number="13010-00000001").name == "山田次郎"
    events = {(e.action, e.target_id): e for e in AuditEvent.objects.all()}
    assert set(events) == {
        ("jobseeker.created", "13010-00000010"),
        ("jobseeker.created", "13010-00000012"),
        ("jobseeker.updated", "13010-00000001"),
        ("jobseeker.updated", "13010-00000004"),
    }
    update = events[("jobseeker.updated", "13010-00000004")]
    assert update.detail == {"source": "test", "fields": ["email"]}
    assert (update.actor_label, update.ip) == ("staff", "192.0.2.1")
    assert events[("jobseeker.created", "13010-00000010")].detail == {"source": "test"}


def test_copy_path_is_used_on_postgres(monkeypatch):
    calls = []
    original = services._upsert_batch_copy

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_upsert_batch_copy", spy)
    jobseeker_upsert_batch([rec(1, "a@x.jp")])
    assert bool(calls) == (connection.vendor == "postgresql")


def _snapshot():
    seekers = list(
        JobSeeker.objects.order_by("number").values_list(
            "number", "name", "name_kana", "email", "birth_date", "office", "status"
        )
    )
    events = sorted(
        (e.action, e.target_id, e.actor_label, e.ip, sorted(e.detail.items()))
        for e in AuditEvent.objects.all()
    )
    return seekers, events


def _random_batch(rng, size):
    names = ["山田太郎", "山田次郎"]
    offices = ["", "渋谷"]
    return [
        JobSeekerRecord(
            f"13010-{rng.randrange(30):08d}",
            rng.choice(names),
            "ヤマダタロウ",
            rng.choice(["e{}@x.jp", "E{}@X.jp"]).format(rng.randrange(24)),
            BIRTH,
            rng.choice(offices),
        )
        for _ in range(size)
    ]


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_orm_and_copy_paths_agree():
    """Random registers and batches through both paths: same results, same rows, same audit
    events."""
    for seed_value in range(40):
        rng = random.Random(seed_value)
        with transaction.atomic():
            outcomes = _both_paths(rng)
            transaction.set_rollback(True)
        assert outcomes["orm"] == outcomes["copy"], f"seed {seed_value}"


def _both_paths(rng):
    start = {}
    for record in _random_batch(rng, 20):
        start.setdefault(record.number, record)
    services._upsert_batch_orm(
        list(start.values()), actor=None, actor_label="seed", origin=NO_REQUEST, source="seed"
    )
    JobSeeker.objects.filter(number__in=rng.sample(sorted(start), k=len(start) // 2)).update(
        status=JobSeeker.Status.ACTIVE
    )
    AuditEvent.objects.all().delete()
    batch = _random_batch(rng, 25)
    outcomes = {}
    for name, path in (("orm", services._upsert_batch_orm), ("copy", services._upsert_batch_copy)):
        with transaction.atomic():
            result = path(
                batch,
                actor=None,
                actor_label="x",
                origin=RequestOrigin(ip="192.0.2.9"),
                source="t",
                outcomes=True,
            )
            outcomes[name] = (result, _snapshot())
            transaction.set_rollback(True)
    return outcomes
