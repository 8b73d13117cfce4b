"""The English catalogue is complete, compiled, and current with the sources; and no text a
reader sees is written outside Django's translation machinery.

How it works: `read_po` (tests/i18n/catalogue.py) reads portal/locale/<code>/LC_MESSAGES/
django.po. An entry counts as missing when it is fuzzy, when any msgstr is empty, when a
msgstr equals its Japanese msgid, or when a msgstr still holds Japanese characters. The
committed .mo must hold exactly the .po's translated entries (read back with Python's gettext,
so no gettext tools are needed). With GNU gettext installed, makemessages is run into a copy of
the catalogue and must find no msgid the committed catalogue lacks. tests/i18n/source_scan.py
finds Japanese outside {% translate %}/{% blocktranslate %}/_("…") in templates and outside
gettext calls, docstrings and a short allowlist in Python modules."""

import gettext
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.i18n.catalogue import JAPANESE, LOCALE, ROOT, context_key, read_po
from tests.i18n.source_scan import (
    python_leftovers,
    python_modules,
    script_leftovers,
    scripts,
    template_leftovers,
    templates,
)

TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# The same folders `./dev messages` leaves out.
IGNORED = ["tests", "bench", "var", "docs"]


def _po(code: str) -> Path:
    return LOCALE / code / "LC_MESSAGES" / "django.po"


def _entries(code: str):
    return [entry for entry in read_po(_po(code)) if entry.msgid]


def _missing(entry) -> bool:
    forms = entry.msgstr.values()
    return (
        entry.fuzzy
        or not forms
        or any(not text for text in forms)
        or any(
            text in (entry.msgid, entry.msgid_plural) and JAPANESE.search(text) for text in forms
        )
        or any(JAPANESE.search(text) for text in forms)
    )


def test_the_project_offers_english_with_japanese_as_the_source():
    assert settings.LANGUAGE_CODE == "ja"
    assert "en" in TRANSLATED


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_has_a_translation(code):
    entries = _entries(code)
    assert len(entries) > 400
    missing = [entry.msgid[:80] for entry in entries if _missing(entry)]
    assert not missing, f"{len(missing)} messages lack a {code} translation: {missing[:10]}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_committed_mo_is_the_compiled_po(code):
    po = {context_key(e): e for e in _entries(code) if not e.fuzzy}
    with (_po(code).with_suffix(".mo")).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    compiled.pop("", None)  # the header
    expected = {}
    for key, entry in po.items():
        if entry.msgid_plural:
            for index, text in entry.msgstr.items():
                expected[(key, index)] = text
        else:
            expected[key] = entry.msgstr[0]
    stale = sorted(
        str(key)[:60]
        for key in expected.keys() | compiled.keys()
        if expected.get(key) != compiled.get(key)
    )
    assert not stale, f"django.mo differs from django.po (run ./dev messages): {stale[:10]}"


@pytest.mark.skipif(not shutil.which("xgettext"), reason="makemessages needs GNU gettext")
@pytest.mark.parametrize("code", TRANSLATED)
def test_the_catalogue_holds_every_message_of_the_sources(code, monkeypatch):
    # makemessages writes into the locale folder it finds next to the sources, whatever
    # LOCALE_PATHS says: it runs on the real catalogue, which is put back afterwards.
    po = _po(code)
    committed_text = po.read_bytes()
    committed = {context_key(e) for e in _entries(code)}
    monkeypatch.chdir(ROOT)
    try:
        call_command(
            "makemessages", locale=[code], ignore_patterns=IGNORED, no_obsolete=True, verbosity=0
        )
        current = {context_key(e) for e in _entries(code)}
    finally:
        po.write_bytes(committed_text)
    assert not current - committed, (
        f"not in the {code} catalogue (run ./dev messages): {sorted(current - committed)}"
    )
    assert not committed - current, f"no longer in the sources: {sorted(committed - current)}"


def test_templates_have_no_japanese_outside_the_translation_tags():
    found = {str(path.relative_to(ROOT)): template_leftovers(path) for path in templates()}
    assert len(found) > 40
    assert not {path: lines for path, lines in found.items() if lines}


def test_python_modules_have_no_japanese_outside_gettext():
    found = [line for path in python_modules() for line in python_leftovers(path)]
    assert not found, found


def test_scripts_take_their_texts_from_the_page():
    found = {str(path.relative_to(ROOT)): script_leftovers(path) for path in scripts()}
    assert len(found) >= 2
    assert not {path: lines for path, lines in found.items() if lines}


def test_the_scans_catch_japanese_outside_the_machinery(tmp_path):
    """The two scans above can fail: each finds a planted string and passes a marked one."""
    template = tmp_path / "page.html"
    template.write_text(
        '{% load i18n %}<p>{% translate "トップ" %}</p>{# 注 #}<p>未翻訳の文</p>'
        '{% blocktranslate %}訳{% endblocktranslate %}{{ x|date:_("Y年") }}',
        encoding="utf-8",
    )
    assert template_leftovers(template) == ["{% load i18n %}<p></p><p>未翻訳の文</p>{{ x|date: }}"]
    module = tmp_path / "module.py"
    module.write_text(
        '"""説明"""\nfrom django.utils.translation import gettext as _\n'
        'A = _("訳")\nB = "未翻訳"\nC = f"{A}件"\n',
        encoding="utf-8",
    )
    script = tmp_path / "page.js"
    script.write_text('// 注\n/* 注 */ var a = "未翻訳";\n', encoding="utf-8")
    assert script_leftovers(script) == ['var a = "未翻訳";']
    leftovers = python_leftovers(module, relative="module.py")
    assert [line.split(": ", 1)[1] for line in leftovers] == ["'未翻訳'", "'件'"]


def test_fuzzy_empty_and_copied_entries_count_as_missing(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
        'msgid "訳あり"\nmsgstr "Translated"\n\n'
        '#, fuzzy, python-format\nmsgid "あいまい"\nmsgstr "Fuzzy"\n\n'
        'msgid "空"\nmsgstr ""\n\n'
        'msgid "写し"\nmsgstr "写し"\n\n'
        'msgid "一部"\nmsgstr "Partly 日本語"\n\n'
        'msgid "%(n)d件"\nmsgid_plural "%(n)d件"\nmsgstr[0] "%(n)d item"\nmsgstr[1] ""\n\n'
        'msgctxt "date"\nmsgid "長い"\n"続き"\nmsgstr ""\n"Long "\n"continued"\n',
        encoding="utf-8",
    )
    entries = [entry for entry in read_po(po) if entry.msgid]
    assert {entry.msgid: _missing(entry) for entry in entries} == {
        "訳あり": False,
        "あいまい": True,
        "空": True,
        "写し": True,
        "一部": True,
        "%(n)d件": True,
        "長い続き": False,
    }
    assert context_key(entries[-1]) == "date\x04長い続き"
