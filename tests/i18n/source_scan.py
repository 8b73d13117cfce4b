"""Finds user-visible Japanese outside Django's translation machinery in portal/.

Templates: the text left after removing {% translate %}/{% blocktranslate %} blocks and
comments must hold no Japanese. Python: every string literal holding Japanese must be the
first argument of a gettext function, a docstring, or listed in ALLOWED below."""

import ast
import re
from pathlib import Path

from tests.i18n.catalogue import JAPANESE, PORTAL

GETTEXT_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}

# Japanese that is data, not text for a reader: (path relative to portal/, the literal).
ALLOWED: set[tuple[str, str]] = {
    # Patterns that accept full-width and Japanese punctuation in what a person types.
    ("accounts/forms.py", "[\\s\\-‐－ー−]"),
    ("registration/keys.py", "[\\s\\-‐‑‒–—―−ー]"),
    # The integration API's job seeker number: full-width digits and hyphen are accepted.
    ("api/schemas.py", "^[0-9０-９]{5}[-－][0-9０-９]{8}$"),
    # The demo's own sample people: names on the register, not text of the service.
    ("mail/management/commands/run_demo.py", "山田 太郎"),
    ("mail/management/commands/run_demo.py", "ヤマダ タロウ"),
    ("mail/management/commands/run_demo.py", "佐藤 花子"),
    ("mail/management/commands/run_demo.py", "サトウ ハナコ"),
    ("mail/management/commands/run_demo.py", "鈴木 一郎"),
    ("mail/management/commands/run_demo.py", "スズキ イチロウ"),
    ("mail/management/commands/run_demo.py", "デモ公共職業安定所"),
    ("mail/management/commands/run_demo.py", "エマ クラーク"),
}

_TEMPLATE_MACHINERY = re.compile(
    r"{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}"
    r"|{%\s*trans(?:late)?\s.*?%}"
    r"|{#.*?#}"
    r'|\b_\("(?:[^"\\]|\\.)*"\)'
    r"|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}",
    re.DOTALL,
)


def template_leftovers(path: Path) -> list[str]:
    text = _TEMPLATE_MACHINERY.sub("", path.read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if JAPANESE.search(line)]


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def python_leftovers(path: Path, relative: str | None = None) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside_gettext: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in GETTEXT_NAMES:
            for arg in node.args:
                for sub in ast.walk(arg):
                    inside_gettext.add(id(sub))
    docstrings = _docstrings(tree)
    relative = relative or str(path.relative_to(PORTAL))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in inside_gettext or id(node) in docstrings:
            continue
        if JAPANESE.search(node.value) and (relative, node.value) not in ALLOWED:
            found.append(f"{relative}:{node.lineno}: {node.value!r}")
    return found


def templates() -> list[Path]:
    return sorted(
        p for p in PORTAL.rglob("templates/**/*") if p.suffix in {".html", ".txt"} and p.is_file()
    )


def python_modules() -> list[Path]:
    return sorted(p for p in PORTAL.rglob("*.py") if "migrations" not in p.parts)


_JS_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)


def script_leftovers(path: Path) -> list[str]:
    """Japanese in a static script outside its comments: a script takes its texts from the
    page (data attributes the templates translate)."""
    text = _JS_COMMENTS.sub("", path.read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if JAPANESE.search(line)]


def scripts() -> list[Path]:
    return sorted(PORTAL.rglob("static/**/*.js"))
