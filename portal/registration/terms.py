"""The two documents a job seeker agrees to, read from files an operator replaces
(settings.TERMS_DIR/privacy.txt and mypage.txt).

File format: a header of `key: value` lines (`version:` and `title:`), a blank line, then the
text; a line starting with "## " is a heading, blank lines separate paragraphs. The recorded
version is the declared one plus a digest of the file, so an edit without a new version
number is still told apart."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DOCUMENTS = ("privacy", "mypage")


@dataclass(frozen=True)
class TermsDocument:
    name: str
    title: str
    version: str
    blocks: tuple[tuple[str, str], ...]  # ("h", text) or ("p", text)


_cache: dict[Path, tuple[float, TermsDocument]] = {}


def _parse(name: str, text: str) -> TermsDocument:
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
    return TermsDocument(
        name=name,
        title=meta.get("title", name),
        version=f"{meta.get('version', 'unversioned')}+{digest}",
        blocks=tuple(blocks),
    )


def terms_load(name: str) -> TermsDocument:
    if name not in DOCUMENTS:
        raise KeyError(name)
    path = Path(settings.TERMS_DIR) / f"{name}.txt"
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    document = _parse(name, path.read_text(encoding="utf-8"))
    _cache[path] = (mtime, document)
    return document


def terms_versions() -> dict[str, str]:
    """The versions a registration agrees to now, as flow_start takes them."""
    return {
        "privacy_version": terms_load("privacy").version,
        "terms_version": terms_load("mypage").version,
    }
