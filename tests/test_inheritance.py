"""{% extends %} with the blocks worked out once renders what Django's {% extends %} does."""

import pytest
from django.template import Context, Engine, engines

from portal.core.templatetags.inheritance import PlannedExtendsNode

TEMPLATES = {
    "base.html": (
        "<title>{% block title %}base title{% endblock %}</title>"
        "{% if flag %}<nav>{% block nav %}base nav{% endblock %}</nav>{% endif %}"
        "<main>{% block content %}base content{% block inner %}base inner{% endblock %}"
        "{% endblock %}</main><footer>{% block footer %}{{ who }}{% endblock %}</footer>"
    ),
    "middle.html": (
        "{% extends 'base.html' %}outside blocks: never shown"
        "{% block nav %}middle nav {{ who }}{% endblock %}"
        "{% block content %}middle content [{% block inner %}middle inner{% endblock %}]"
        "{% block added %}middle added{% endblock %}{% endblock %}"
    ),
    "child.html": (
        "{% extends 'middle.html' %}{% load i18n %}"
        "{% block title %}child title{% endblock %}"
        "{% block inner %}{% translate 'child inner' as text %}{{ text }}{% endblock %}"
        "{% block footer %}{{ text|default:'scoped' }}{% endblock %}"
    ),
    "super.html": "{% extends 'base.html' %}{% block title %}{{ block.super }}+{% endblock %}",
    "variable.html": "{% extends parent %}{% block title %}from a variable{% endblock %}",
}


def _engines():
    locmem = ("django.template.loaders.locmem.Loader", TEMPLATES)
    loaders = [("django.template.loaders.cached.Loader", [locmem])]  # compiled once, as served
    libraries = {"i18n": "django.templatetags.i18n"}
    planned = Engine(
        loaders=loaders, libraries=libraries, builtins=["portal.core.templatetags.inheritance"]
    )
    django = Engine(loaders=loaders, libraries=libraries)
    return planned, django


@pytest.mark.parametrize("name", ["middle.html", "child.html", "super.html", "variable.html"])
@pytest.mark.parametrize("flag", [True, False])
def test_renders_as_django_does_on_every_render(name, flag):
    planned, django = _engines()
    for who in ("first", "second", "<third>"):
        context = {"flag": flag, "who": who, "parent": "base.html"}
        expected = django.get_template(name).render(Context(context))
        assert planned.get_template(name).render(Context(context)) == expected


def test_a_chain_is_worked_out_once_and_the_others_are_left_to_django():
    planned, _django = _engines()
    for name in TEMPLATES:
        if name != "base.html":
            planned.get_template(name).render(Context({"parent": "base.html"}))

    def plan(name):
        node = planned.get_template(name).nodelist.get_nodes_by_type(PlannedExtendsNode)[0]
        return node._plan

    root, blocks = plan("child.html")
    assert root.name == "base.html"
    assert {name: block.origin.template_name for name, block in blocks.blocks.items()} == {
        "title": "child.html",
        "nav": "middle.html",
        "content": "middle.html",
        "inner": "child.html",
        "added": "middle.html",
        "footer": "child.html",
    }
    assert plan("super.html") is False
    assert plan("variable.html") is False


def test_a_template_extending_another_of_the_same_name(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "page.html").write_text("{% extends 'page.html' %}{% block b %}first{% endblock %}")
    (second / "page.html").write_text("<p>{% block b %}second{% endblock %}</p>")
    engine = Engine(dirs=[first, second], builtins=["portal.core.templatetags.inheritance"])
    page = engine.get_template("page.html")
    assert page.render(Context()) == "<p>first</p>"
    assert page.render(Context()) == "<p>first</p>"


def test_the_project_engine_uses_it_and_pages_render(client):
    response = client.get("/")
    assert response.status_code == 200
    template = engines["django"].engine.get_template("registration/top.html")
    assert isinstance(
        template.nodelist.get_nodes_by_type(PlannedExtendsNode)[0], PlannedExtendsNode
    )
