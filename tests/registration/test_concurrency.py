"""Two tabs (or two app servers) sending the right key at the same moment: one success."""

import pytest
from django.db import connection
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.core.refusal import Refused
from portal.jobseekers.models import JobSeeker
from portal.registration import services
from portal.registration.flow import Purpose
from portal.registration.selectors import flow_get
from tests.browser_client import BrowserClient as Client
from tests.registration.journey import GOOD_PASSWORD, Journey, deliver_mail, key_from
from tests.threads import run_at_once


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks across connections need PostgreSQL"
)
def test_concurrent_double_submit_of_the_right_key(make_jobseeker, smtp_server):
    make_jobseeker(email="race@example.jp")
    journey = Journey()
    journey.start("race@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("race@example.jp")[0])
    cookie = journey.client.cookies

    rounds = 8

    def submit():
        tab = Client()
        tab.cookies = cookie  # the same browser, another tab
        response = tab.post(
            reverse("registration:password"),
            {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD, "key": key},
        )
        return response.status_code

    outcomes = run_at_once([submit] * rounds)

    assert outcomes == [302] * rounds  # every tab lands on ④, none errors
    seeker = JobSeeker.objects.get(email="race@example.jp")
    assert seeker.status == JobSeeker.Status.ACTIVE
    assert AuditEvent.objects.filter(action="register.completed").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks across connections need PostgreSQL"
)
def test_concurrent_service_calls_give_exactly_one_completed(make_jobseeker, smtp_server):
    make_jobseeker(email="race2@example.jp")
    journey = Journey()
    journey.start("race2@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("race2@example.jp")[0])
    flow_id = journey.client.session["flow:register"]

    def run():
        flow = services.flow_end_if_expired(flow_get(flow_id, Purpose.REGISTER, with_key_mail=True))
        try:
            services.flow_complete(flow, key=key, password=GOOD_PASSWORD)
        except Refused as refusal:
            return refusal.reason
        return "completed"

    results = run_at_once([run] * 4)
    assert sorted(str(r) for r in results) == sorted(["completed"] + ["already_completed"] * 3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks across connections need PostgreSQL"
)
@pytest.mark.parametrize("round_", range(4))
def test_two_browsers_completing_for_one_job_seeker_never_deadlock(
    make_jobseeker, smtp_server, round_
):
    email = f"both{round_}@example.jp"
    make_jobseeker(email=email)
    first, second = Journey(), Journey()
    first.start(email)
    second.start(email)
    deliver_mail()
    keys = [key_from(m) for m in smtp_server.to(email)]
    statuses = run_at_once(
        [
            lambda: first.complete(keys[0]).status_code,
            lambda: second.complete(keys[1]).status_code,
        ]
    )
    assert statuses == [302, 302]  # one lands on ④, the other on ① with a message; no 500
    assert AuditEvent.objects.filter(action="register.completed").count() == 1
