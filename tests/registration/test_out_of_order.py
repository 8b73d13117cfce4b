"""Requests for the wrong screen land on the right one with a message; never a 500."""

import pytest
from django.urls import reverse

from portal.registration.models import RegistrationFlow
from tests.browser_client import BrowserClient as Client
from tests.registration.journey import Journey, deliver_mail, key_from

pytestmark = pytest.mark.django_db


def _follow_message(client, response) -> str:
    assert response.status_code == 302
    return client.get(response.url).content.decode()


@pytest.mark.parametrize(
    "name", ["registration:identity", "registration:password", "registration:done"]
)
def test_bookmarked_screen_without_a_flow_goes_to_terms(name):
    client = Client()
    response = client.get(reverse(name))
    assert response.url == reverse("registration:terms")
    assert "はじめからやり直してください" in _follow_message(client, response)


def test_post_to_identity_without_agreeing_goes_to_terms(make_jobseeker):
    make_jobseeker(email="skip@example.jp")
    journey = Journey()
    response = journey.identity("skip@example.jp")
    assert response.url == reverse("registration:terms")
    assert not RegistrationFlow.objects.exists()


@pytest.mark.parametrize(
    "name", ["registration:resend", "registration:change_address", "registration:password"]
)
def test_posts_of_step_three_without_a_flow(name):
    client = Client()
    response = client.post(reverse(name), {"key": "12345678"})
    assert response.url == reverse("registration:terms")


def test_terms_not_agreed_is_refused_by_the_server():
    client = Client()
    response = client.post(reverse("registration:terms"), {})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>エラー：" in html and "チェックを付けてください" in html
    assert not RegistrationFlow.objects.exists()


def test_terms_changed_between_reading_and_agreeing():
    client = Client()
    response = client.post(
        reverse("registration:terms"),
        {"agree": "on", "privacy_version": "old", "terms_version": "old"},
    )
    assert response.url == reverse("registration:terms")
    assert "利用規約等が更新されました" in client.get(response.url).content.decode()
    assert not RegistrationFlow.objects.exists()


def test_identity_again_after_key_sent_points_to_step_three(make_jobseeker, smtp_server):
    make_jobseeker(email="back@example.jp")
    journey = Journey()
    journey.start("back@example.jp")
    response = journey.client.get(reverse("registration:identity"))  # the back button
    assert response.url == reverse("registration:password")
    assert "認証キーは送信済みです" in _follow_message(journey.client, response)
    # A re-submitted ② (back button, then 次へ進む) sends no second mail.
    journey.identity("back@example.jp")
    assert len(smtp_server.messages) == 0
    deliver_mail()
    assert len(smtp_server.to("back@example.jp")) == 1


def test_replayed_step_three_after_done(make_jobseeker, smtp_server):
    make_jobseeker(email="replay@example.jp")
    journey = Journey()
    journey.start("replay@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("replay@example.jp")[0])
    journey.complete(key)
    page = journey.client.get(reverse("registration:password"))
    assert page.url == reverse("registration:done")
    assert "登録は完了しています" in _follow_message(journey.client, page)
    assert journey.complete(key).url == reverse("registration:done")


def test_second_tab_starting_over_keeps_only_the_newest_flow(make_jobseeker, smtp_server):
    make_jobseeker(email="tabs@example.jp")
    journey = Journey()
    journey.start("tabs@example.jp")
    deliver_mail()
    first_key = key_from(smtp_server.to("tabs@example.jp")[0])
    # The second tab opens ① again: the session now follows the new flow.
    journey.agree()
    response = journey.complete(first_key)
    assert response.url == reverse("registration:identity")
    journey.identity("tabs@example.jp")
    deliver_mail()
    second_key = key_from(smtp_server.to("tabs@example.jp")[-1])
    assert journey.complete(second_key).url == reverse("registration:done")


def test_key_from_another_browser_does_not_work(make_jobseeker, smtp_server):
    make_jobseeker(email="other@example.jp")
    first, second = Journey(), Journey()
    first.start("other@example.jp")
    deliver_mail()
    key = key_from(smtp_server.to("other@example.jp")[0])
    second.start("nobody@example.jp")  # a different browser with a flow of its own
    response = second.complete(key)
    assert "認証キーが正しくありません" in response.content.decode()
    assert first.complete(key).url == reverse("registration:done")


def test_completed_in_one_browser_ends_the_other_browsers_flow(make_jobseeker, smtp_server):
    make_jobseeker(email="two@example.jp")
    first, second = Journey(), Journey()
    first.start("two@example.jp")
    second.start("two@example.jp")
    deliver_mail()
    keys = [key_from(m) for m in smtp_server.to("two@example.jp")]
    assert first.complete(keys[0]).url == reverse("registration:done")
    response = second.complete(keys[1])
    assert response.url == reverse("registration:terms")
    assert "別の画面で登録が完了した" in _follow_message(second.client, response)


def test_unknown_terms_document_is_404():
    assert Client().get("/terms/nothing/").status_code == 404
