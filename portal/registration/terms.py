"""The two documents a job seeker agrees to, read from files an operator replaces
(settings.TERMS_DIR/privacy.txt and mypage.txt, in the default language; privacy.en.txt and
mypage.en.txt for English, and so on for each language of settings.LANGUAGES).

A translation is shown only when it exists and declares the same `version:` as the default
language's document; otherwise the default document is shown with a note (`fallback`), never
an empty box. The recorded version names the language of the text agreed to.

File format: a header of `key: value` lines (`version:` and `title:`), a blank line, then the
text; a line starting with "## " is a heading, blank lines separate paragraphs. The recorded
version is the declared one plus a digest of the file, so an edit without a new version
number is still told apart."""

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.utils.translation import get_language

DOCUMENTS = ("privacy", "mypage")


@dataclass(frozen=True)
class TermsDocument:
    name: str
    title: str
    version: str  # "<declared>+<digest>:<language>", as recorded in a flow
    blocks: tuple[tuple[str, str], ...]  # ("h", text) or ("p", text)
    language: str = ""  # the language of this text
    declared_version: str = ""
    # True when the text is the default language's because the asked-for one is missing or
    # declares another version.
    fallback: bool = False


_cache: dict[Path, tuple[float, TermsDocument]] = {}


def _parse(name: str, text: str, language: str) -> TermsDocument:
    header, _, body = text.replace("\r\n", "\n").partition("\n\n")
    meta = {}
    for line in header.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    blocks: list[tuple[str, str]] = []
    for chunk in body.split("\n\n"):
        chunk = chunk.strip()
        if not chunk:
            continue
        if chunk.startswith("## "):
            heading, _, rest = chunk.partition("\n")
            blocks.append(("h", heading[3:].strip()))
            if rest.strip():
                blocks.append(("p", rest.strip()))
        else:
            blocks.append(("p", chunk))
    declared = meta.get("version", "unversioned")
    return TermsDocument(
        name=name,
        title=meta.get("title", name),
        version=f"{declared}+{digest}:{language}",
        blocks=tuple(blocks),
        language=language,
        declared_version=declared,
    )


def _read(name: str, language: str) -> TermsDocument | None:
    suffix = "" if language == settings.LANGUAGE_CODE else f".{language}"
    path = Path(settings.TERMS_DIR) / f"{name}{suffix}.txt"
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    document = _parse(name, path.read_text(encoding="utf-8"), language)
    _cache[path] = (mtime, document)
    return document


def terms_load(name: str, language: str | None = None) -> TermsDocument:
    """The document in `language` (the active one by default), or the default language's with
    `fallback` set when that translation is missing or declares another version."""
    if name not in DOCUMENTS:
        raise KeyError(name)
    original = _read(name, settings.LANGUAGE_CODE)
    if original is None:
        raise FileNotFoundError(Path(settings.TERMS_DIR) / f"{name}.txt")
    language = language or get_language() or settings.LANGUAGE_CODE
    if language == settings.LANGUAGE_CODE:
        return original
    translated = _read(name, language)
    if translated is None or translated.declared_version != original.declared_version:
        return replace(original, fallback=True)
    return translated


def terms_versions() -> dict[str, str]:
    """The versions a registration agrees to now, as flow_start takes them."""
    return {
        "privacy_version": terms_load("privacy").version,
        "terms_version": terms_load("mypage").version,
    }
