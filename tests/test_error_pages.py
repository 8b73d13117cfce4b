"""Error pages people can meet speak Japanese and show the way back."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_not_found_page_is_japanese(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "ページが見つかりません" in html and "トップページへ戻る" in html


def test_expired_form_page_explains_what_to_do():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/register/", {"agree": "on"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "画面の有効期限が切れました" in html and "入力内容は送信されていません" in html
