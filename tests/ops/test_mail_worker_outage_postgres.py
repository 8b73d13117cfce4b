"""PostgreSQL cut for 10 s under a gunicorn server and a `deliver_mail` worker, while mails are
queued and identity submissions (②) arrive. Both processes reach the database through a TCP
proxy owned by this test; the shared PostgreSQL server is never stopped."""

import time
from collections import Counter

import httpx
import pytest

from portal.jobseekers.services import jobseeker_register
from portal.mail.models import OutboundMail
from portal.mail.services import mail_queue
from tests.ops.procs import gunicorn, manage, proxied_env, wait_until
from tests.ops.test_database_outage_postgres import _HIDDEN, _agree
from tests.ops.test_mail_worker import SlowSink, _start_worker

pytestmark = pytest.mark.postgres_only

CUT_SECONDS = 10
BIRTH_DATE = {"birth_year": "1990", "birth_month": "04", "birth_day": "01"}


class Applicant:
    """A browser at ② (the terms agreed), posting its address and birth date."""

    def __init__(self, base: str, email: str) -> None:
        self.email = email
        self.http = httpx.Client(base_url=base, timeout=30)
        assert _agree(self.http).status_code == 302
        page = self.http.get("/register/identity/")
        assert page.status_code == 200
        self.form = dict(_HIDDEN.findall(page.text))
        self.cookies = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)

    def submit(self) -> httpx.Response:
        return self.http.post(
            "/register/identity/",
            data={**self.form, "email": self.email, **BIRTH_DATE},
            headers={"Cookie": self.cookies},
        )


def test_the_worker_and_the_service_outlive_a_10_second_database_cut(
    database_behind_proxy, tmp_path
):
    proxy, url = database_behind_proxy
    emails = [f"applicant{n}@example.jp" for n in range(6)]
    for n, email in enumerate(emails, start=1):
        jobseeker_register(
            {
                "number": f"13010-{n:08d}",
                "name": "山田太郎",
                "name_kana": "ヤマダタロウ",
                "email": email,
                "birth_date": "1990-04-01",
            },
            actor_label="test",
        )
    sink = SlowSink(delay=0.1)  # the queue takes a few seconds: the cut lands mid-delivery
    sink.controller.start()
    env = proxied_env(
        url,
        tmp_path / "static",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=sink.port,
        MAIL_WORKER_HEARTBEAT_SECONDS=1,
    )
    manage("collectstatic", "--noinput", env=env)
    worker, worker_log = _start_worker(env, tmp_path)
    try:
        with gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log") as base:
            applicants = [Applicant(base, email) for email in emails]
            queued = [f"queued{n}@example.jp" for n in range(40)]
            for address in queued:
                mail_queue(
                    to=address,
                    kind="registration_completed",
                    context={"name": "山田太郎", "number": "13010-00000001"},
                )
            before, during = applicants[:2], applicants[2:]
            assert [a.submit().status_code for a in before] == [302, 302]
            wait_until(lambda: sink.count() >= 5, what="the worker under way")

            proxy.cut()
            cut_ends = time.monotonic() + CUT_SECONDS
            statuses = [a.submit().status_code for a in during]
            statuses.append(during[0].http.get("/register/identity/").status_code)
            while time.monotonic() < cut_ends:
                statuses.append(during[-1].submit().status_code)
                time.sleep(1)
            assert worker.poll() is None, "the worker exited while the database was cut"
            proxy.restore()

            assert set(statuses) == {503}, statuses  # a real answer during the cut, never 500
            # Recovered without a restart: the submissions cut off go through now.
            assert [a.submit().status_code for a in during] == [302] * len(during)
            wait_until(
                lambda: not OutboundMail.objects.exclude(status="sent").exists(),
                timeout=60,
                what="every mail sent",
            )
            assert worker.poll() is None, "the worker exited after the cut"
            assert httpx.get(f"{base}/readyz").status_code == 200
            for applicant in applicants:
                applicant.http.close()
        worker.terminate()
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker_log.close()
        sink.controller.stop()

    # Every mail delivered, none twice: the 40 queued ones and one key mail per applicant.
    assert OutboundMail.objects.count() == len(queued) + len(emails)
    assert Counter(sink.received) == {address: 1 for address in queued + emails}
    log = (tmp_path / "worker.log").read_text()
    assert "mail worker cannot reach the database; trying again" in log
    assert "mail worker reached the database again" in log
    assert "mail worker stopped" in log
