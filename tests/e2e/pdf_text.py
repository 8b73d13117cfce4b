"""Just enough of PDF to check what Chromium's print-to-PDF wrote: the pages with their sizes,
and the text each page shows (through the fonts' ToUnicode maps). Chromium writes plain,
unencrypted PDF with Flate streams, which the standard library reads; no PDF library is
needed for these checks."""

import re
import zlib
from dataclasses import dataclass

_OBJECT_RE = re.compile(rb"(\d+)\s+0\s+obj\b(.*?)\bendobj", re.S)
_STREAM_RE = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_REF = rb"(\d+)\s+0\s+R"


@dataclass
class PdfPage:
    width_pt: float
    height_pt: float
    text: str


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(number): body for number, body in _OBJECT_RE.findall(data)}


def _dictionary(body: bytes) -> bytes:
    match = _STREAM_RE.search(body)
    return body[: match.start()] if match else body


def _stream(body: bytes) -> bytes:
    match = _STREAM_RE.search(body)
    if match is None:
        return b""
    raw = match.group(1)
    # The data may end in a byte that looks like a line end: its /Length says where it ends.
    length = re.search(rb"/Length\s+(\d+)(?!\s+0\s+R)", _dictionary(body))
    if length is not None:
        start = match.start(1)
        raw = body[start : start + int(length.group(1))]
    return zlib.decompress(raw) if b"/FlateDecode" in _dictionary(body) else raw


def _resolve(objects: dict[int, bytes], value: bytes) -> bytes:
    match = re.fullmatch(rb"\s*" + _REF + rb"\s*", value)
    return _dictionary(objects[int(match.group(1))]) if match else value


def _inner_dict(source: bytes, key: bytes) -> bytes:
    """The text of `/key << ... >>` in source (nested dictionaries counted)."""
    start = source.find(b"/" + key)
    if start < 0:
        return b""
    open_at = source.find(b"<<", start)
    depth, index = 0, open_at
    while index < len(source):
        if source.startswith(b"<<", index):
            depth, index = depth + 1, index + 2
        elif source.startswith(b">>", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return source[open_at + 2 : index - 2]
        else:
            index += 1
    return b""


def _cmap(text: bytes) -> tuple[int, dict[int, str]]:
    """(bytes per character code, {code: text}) of a ToUnicode CMap."""
    mapping: dict[int, str] = {}
    space = re.search(rb"begincodespacerange\s*<([0-9A-Fa-f]+)>", text)
    width = len(space.group(1)) // 2 if space else 2

    def unicode(hex_value: bytes) -> str:
        return bytes.fromhex(hex_value.decode()).decode("utf-16-be")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = unicode(target)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, target in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])", block
        ):
            low_code, high_code = int(low, 16), int(high, 16)
            if target.startswith(b"["):
                for offset, item in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", target)):
                    mapping[low_code + offset] = unicode(item)
            else:
                first = unicode(target[1:-1])
                for offset in range(high_code - low_code + 1):
                    mapping[low_code + offset] = first[:-1] + chr(ord(first[-1]) + offset)
    return width, mapping


def _page_text(objects: dict[int, bytes], page: bytes) -> str:
    resources = _resolve(objects, page.split(b"/Resources", 1)[1]) if b"/Resources" in page else b""
    if re.match(rb"\s*" + _REF, resources):
        resources = _resolve(objects, re.match(rb"\s*(" + _REF + rb")", resources).group(1))
    fonts_text = _inner_dict(resources, b"Font")
    maps: dict[bytes, tuple[int, dict[int, str]]] = {}
    for name, number in re.findall(rb"/([^\s/<>\[\]]+)\s+" + _REF, fonts_text):
        font = _dictionary(objects[int(number)])
        unicode_ref = re.search(rb"/ToUnicode\s+" + _REF, font)
        maps[name] = _cmap(_stream(objects[int(unicode_ref.group(1))])) if unicode_ref else (2, {})
    contents = re.search(rb"/Contents\s+(\[[^\]]*\]|" + _REF + rb")", page).group(1)
    content = b"".join(_stream(objects[int(n)]) for n in re.findall(_REF, contents))
    out: list[str] = []
    width, current = 2, {}
    for token in re.finditer(
        rb"/([^\s/<>\[\]]+)\s+[\d.]+\s+Tf|\[((?:[^\]\\]|\\.)*)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj|(T\*|Td|TD|ET)",
        content,
    ):
        font, array, single, move = token.groups()
        if font is not None:
            width, current = maps.get(font, (2, {}))
        elif move is not None:
            out.append("\n" if move == b"ET" else "")
        else:
            pieces = re.findall(rb"<([0-9A-Fa-f]*)>", array) if array is not None else [single]
            for hex_text in pieces:
                codes = bytes.fromhex(hex_text.decode())
                for index in range(0, len(codes) - width + 1, width):
                    code = int.from_bytes(codes[index : index + width], "big")
                    out.append(current.get(code, ""))
    return "".join(out)


def pdf_pages(data: bytes) -> list[PdfPage]:
    objects = _objects(data)
    pages = []
    for body in objects.values():
        page = _dictionary(body)
        if not re.search(rb"/Type\s*/Page(?![s\w])", page):
            continue
        box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", page)
        width = float(box.group(3)) - float(box.group(1))
        height = float(box.group(4)) - float(box.group(2))
        pages.append(PdfPage(width, height, _page_text(objects, page)))
    return pages
