"""The character encoding of an import file, and the error an unreadable file gets."""

import codecs
import os

from django.utils.translation import gettext as _

_SCAN_CHUNK = 1 << 20


class ImportFileError(Exception):
    """The file as a whole cannot be imported (encoding, header); nothing was written."""


def detect_encoding(path: str | os.PathLike) -> str:
    """'utf-8-sig' (BOM), 'utf-8' or 'cp932', found by decoding the whole file incrementally
    (a streaming pre-scan: memory stays flat)."""
    with open(path, "rb") as stream:
        has_bom = stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
        candidates = ["utf-8-sig"] if has_bom else ["utf-8", "cp932"]
        for encoding in candidates:
            stream.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while chunk := stream.read(_SCAN_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding
    if has_bom:
        raise ImportFileError(
            _("ファイルはUTF-8（BOM付き）と読めますが、UTF-8として正しくない部分があります。")
        )
    raise ImportFileError(
        _(
            "ファイルの文字コードを判別できません。"
            "UTF-8 または Shift_JIS（CP932）で保存してください。"
        )
    )
