"""Reading a gettext catalogue (.po) without gettext's tools: the tests compare it with the
committed .mo and check that every entry is translated."""

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
LOCALE = PORTAL / "locale"

JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgstr: dict[int, str] = field(default_factory=dict)
    context: str | None = None
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


def _unquote(text: str) -> str:
    return ast.literal_eval(text)


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header, msgid "", included)."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int | None] | None = None
    started = False

    def finish():
        nonlocal entry, started
        if started:
            entries.append(entry)
        entry, started = Entry(), False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            if started:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, kind, getattr(entry, kind) + _unquote(line))
            continue
        keyword, _, value = line.partition(" ")
        if keyword == "msgctxt":
            if started and entry.msgid:
                finish()
            entry.context = _unquote(value)
            target = ("context", None)
        elif keyword == "msgid":
            if started and (entry.msgid or entry.msgstr):
                finish()
            entry.msgid = _unquote(value)
            target = ("msgid", None)
        elif keyword == "msgid_plural":
            entry.msgid_plural = _unquote(value)
            target = ("msgid_plural", None)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            entry.msgstr[index] = _unquote(value)
            target = ("msgstr", index)
        started = True
    finish()
    return [e for e in entries if not e.obsolete]


def context_key(entry: Entry) -> str:
    """The key gettext's .mo uses for an entry."""
    return f"{entry.context}\x04{entry.msgid}" if entry.context is not None else entry.msgid
