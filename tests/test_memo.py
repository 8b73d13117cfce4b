"""{% memo %}: a region rendered once per language and per value of its arguments, and what
stays per request on the pages that use it."""

import re

import pytest
from django.template import Context, Engine, TemplateSyntaxError
from django.test import Client
from django.utils import translation

from portal.core.templatetags.memo import MAX_OUTPUTS_PER_MEMO

ENGINE = Engine(libraries={"memo": "portal.core.templatetags.memo"})


def template(source: str):
    return ENGINE.from_string("{% load memo %}" + source)


def test_region_is_rendered_once_and_reused():
    page = template("{% memo %}[{{ name }}]{% endmemo %} {{ name }}")
    assert page.render(Context({"name": "first"})) == "[first] first"
    # Only the region outside the memo follows the context.
    assert page.render(Context({"name": "second"})) == "[first] second"


def test_each_value_of_the_arguments_has_its_own_output():
    page = template("{% memo step %}step {{ step }}{% endmemo %}")
    assert page.render(Context({"step": 1})) == "step 1"
    assert page.render(Context({"step": 2})) == "step 2"
    assert page.render(Context({"step": 1})) == "step 1"


def test_each_language_has_its_own_output():
    page = template("{% memo %}{{ text }}{% endmemo %}")
    with translation.override("ja"):
        assert page.render(Context({"text": "日本語"})) == "日本語"
    with translation.override("en"):
        assert page.render(Context({"text": "English"})) == "English"
    with translation.override("ja"):
        assert page.render(Context({"text": "English"})) == "日本語"


def test_csrf_token_inside_a_memo_is_refused():
    with pytest.raises(TemplateSyntaxError, match="csrf_token"):
        template("{% memo %}<form>{% csrf_token %}</form>{% endmemo %}")


def test_outputs_stop_being_stored_past_the_cap():
    page = template("{% memo value %}{{ value }}{% endmemo %}")
    for value in range(MAX_OUTPUTS_PER_MEMO + 10):
        assert page.render(Context({"value": value})) == str(value)
    memo_node = page.nodelist.get_nodes_by_type(type(page.nodelist[-1]))[0]
    assert len(memo_node.outputs) == MAX_OUTPUTS_PER_MEMO


def test_a_slot_writes_its_value_on_every_render_escaped():
    page = template("{% memo %}<p>{{ fixed }}: {% slot name %}</p>{% endmemo %}")
    assert page.render(Context({"fixed": "A", "name": "first"})) == "<p>A: first</p>"
    assert page.render(Context({"fixed": "B", "name": "<b>&"})) == "<p>A: &lt;b&gt;&amp;</p>"


def test_slots_left_out_by_an_if_on_the_memo_values_follow_the_recorded_order():
    page = template(
        "{% memo step %}{% if step == 1 %}[{% slot first %}]{% endif %}({% slot second %})"
        "{% endmemo %}"
    )
    assert page.render(Context({"step": 1, "first": "a", "second": "b"})) == "[a](b)"
    assert page.render(Context({"step": 2, "first": "a", "second": "b"})) == "(b)"
    assert page.render(Context({"step": 1, "first": "c", "second": "d"})) == "[c](d)"


def test_a_slot_outside_a_memo_is_a_plain_value():
    assert template("{% slot name %}").render(Context({"name": "<i>"})) == "&lt;i&gt;"


def test_a_region_holding_the_slot_mark_itself_is_rendered_every_time():
    page = template("{% memo %}{{ text }}{% slot name %}{% endmemo %}")
    mark = "\x1eslot\x1f"
    assert page.render(Context({"text": mark, "name": "a"})) == mark + "a"
    assert page.render(Context({"text": "other", "name": "b"})) == "otherb"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% memo %}{% for x in xs %}{% slot x %}{% endfor %}{% endmemo %}", "for"),
        ("{% memo %}{% with y=x %}{% slot y %}{% endwith %}{% endmemo %}", "with"),
        ("{% memo %}{% memo %}{% slot x %}{% endmemo %}{% endmemo %}", "another"),
        ("{% memo %}{% block b %}{% endblock %}{% endmemo %}", "block"),
        ("{% memo a if %}{% endmemo %}", "if"),
    ],
)
def test_slots_and_memos_that_cannot_work_are_refused_when_compiled(source, message):
    with pytest.raises(TemplateSyntaxError, match=message):
        template(source)


def test_memo_if_stores_only_while_its_condition_holds():
    page = template("{% memo if blank %}[{{ value }}]{% endmemo %}")
    assert page.render(Context({"blank": False, "value": "typed"})) == "[typed]"
    assert page.render(Context({"blank": True, "value": ""})) == "[]"
    assert page.render(Context({"blank": False, "value": "again"})) == "[again]"
    assert page.render(Context({"blank": True, "value": "ignored"})) == "[]"


def _csrf_and_reference(response) -> tuple[list[str], str]:
    html = response.content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    reference = re.search(r'class="reference">([A-Z0-9-]+)<', html).group(1)
    return tokens, reference


def _at_password_screen(client: Client, address: str) -> None:
    terms = client.get("/register/").content.decode()
    versions = dict(re.findall(r'name="(privacy_version|terms_version)" value="([^"]*)"', terms))
    assert client.post("/register/", {"agree": "on", **versions}).status_code == 302
    answer = {"email": address, "birth_year": "1990", "birth_month": "4", "birth_day": "1"}
    assert client.post("/register/identity/", answer).status_code == 302


@pytest.mark.django_db
def test_two_browsers_see_their_own_flow_and_token_on_a_memo_page():
    first, second = Client(), Client()
    _at_password_screen(first, "first@example.jp")
    _at_password_screen(second, "second@example.jp")
    first_page, second_page = first.get("/register/password/"), second.get("/register/password/")
    first_tokens, first_reference = _csrf_and_reference(first_page)
    second_tokens, second_reference = _csrf_and_reference(second_page)
    assert "first@example.jp" in first_page.content.decode()
    assert "second@example.jp" in second_page.content.decode()
    assert "first@example.jp" not in second_page.content.decode()
    assert first_reference != second_reference
    # Every form on the page carries a token, and each browser's token is its own.
    assert len(first_tokens) == 3 and len(second_tokens) == 3
    assert set(first_tokens).isdisjoint(second_tokens)
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value


@pytest.mark.django_db
def test_reset_and_registration_share_the_password_template_but_not_its_outputs():
    client = Client()
    _at_password_screen(client, "someone@example.jp")
    registration = client.get("/register/password/").content.decode()
    reset = client.post(
        "/password-reset/",
        {"email": "other@example.jp", "birth_year": "1990", "birth_month": "4", "birth_day": "1"},
    )
    assert reset.status_code == 302
    reset_page = client.get(reset["Location"]).content.decode()
    assert 'action="/register/password/"' in registration
    assert 'action="/register/password/"' not in reset_page
    assert "ステップ3" in registration and "ステップ3" not in reset_page
    assert "パスワード再設定" in reset_page
