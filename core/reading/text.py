"""Text: charsets and their detection, HTML to text, normalisation (mail and documents).

Pure and total: decoding never raises; a wrong or missing label becomes a guess,
with a `Finding` saying so.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from html import unescape
from html.parser import HTMLParser

from core.reading.findings import Finding

MAX_HTML_CHARS = 2_000_000
_DETECT_BYTES = 65_536  # charset detection looks at this much

# ---------------------------------------------------------------- charsets

_GB_NAMES = frozenset(
    {"gb2312", "gbk", "gb18030", "cp936", "ms936", "windows-936", "x-gbk", "gb_2312-80",
     "gb_2312", "euc-cn", "x-euc-cn", "csgb2312", "chinese", "x-gb2312", "gb-2312"}
)
# Codecs that are not character sets a mailer would mean.
_NOT_CHARSETS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "undefined", "idna", "punycode", "utf_7",
     "mbcs", "oem"}
)
# Declared single-byte Western charsets never fail to decode; Chinese mailers
# use them as a default label on GBK text.
_WESTERN = frozenset({"iso8859-1", "cp1252", "iso8859-15", "ascii"})


def codec_for(charset: str | None) -> str | None:
    """Python codec for a MIME charset label; GB2312/GBK map to GB18030 (their superset)."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    if name in _GB_NAMES:
        return "gb18030"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if info.name in {"gb2312", "gbk", "gb18030"}:
        return "gb18030"
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_declared(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode by a declared label; (text, True) when it fit, else a guess and False."""
    codec = codec_for(charset)
    if codec is not None:
        try:
            return data.decode(codec), True
        except (UnicodeDecodeError, LookupError):
            pass
    text, _ = guess_decode(data)
    return text, False


def guess_decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset: UTF-8, then GB18030 if the result reads as
    Chinese, then detection (GB18030 still wins if detection finds nothing)."""
    if data.isascii():
        return data.decode("ascii"), "ascii"
    with contextlib.suppress(UnicodeDecodeError):
        return data.decode("utf-8"), "utf-8"
    gb: str | None = None
    with contextlib.suppress(UnicodeDecodeError):
        gb = data.decode("gb18030")
    if gb is not None and looks_chinese(gb):
        return gb, "gb18030"
    # Detection is a heuristic: whatever it fails on falls through to a lossy decode.
    with contextlib.suppress(Exception):
        from charset_normalizer import from_bytes

        best = from_bytes(data[:_DETECT_BYTES]).best()
        if best is not None:
            return data.decode(best.encoding, "replace"), best.encoding
    if gb is not None:
        return gb, "gb18030"
    return data.decode("utf-8", "replace"), "utf-8（有损）"


def looks_chinese(text: str) -> bool:
    """Whether the non-ASCII characters of a decoded text are mostly common simplified
    Chinese (GB2312 repertoire), as a mis-decoded Western text's are not."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    common = 0
    for ch in wide:
        with contextlib.suppress(UnicodeEncodeError):
            ch.encode("gb2312")
            common += 1
    return common >= 0.6 * len(wide)


def decode_text(data: bytes, declared: str | None) -> tuple[str, list[Finding]]:
    """Decode a text body by its declared charset; guess, with a finding, when the label
    is missing or wrong."""
    if data.isascii():
        return data.decode("ascii"), []
    codec = codec_for(declared)
    if codec is not None and codec not in _WESTERN:
        try:
            return data.decode(codec), []
        except (UnicodeDecodeError, LookupError):
            pass
    elif codec is not None:
        for candidate in ("utf-8", "gb18030"):
            try:
                text = data.decode(candidate)
            except UnicodeDecodeError:
                continue
            if candidate == "utf-8" or looks_chinese(text):
                return text, [Finding("charset_guess", f"声明为 {declared}，实为 {candidate}")]
        if codec != "ascii":
            return data.decode(codec, "replace"), []
    text, how = guess_decode(data)
    label = f"声明为 {declared}" if declared else "未声明字符集"
    return text, [Finding("charset_guess", f"{label}，按 {how} 解码")]


# ---------------------------------------------------------------- HTML


_CJK = "\u3000-\u9fff\uff00-\uffef"
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK}])\s*\n\s*(?=[{_CJK}])")
_HTML_SPACE = re.compile(r"[ \t\r\n\f\v\xa0]+")


class _HtmlText(HTMLParser):
    """Text of an HTML body: script/style dropped, line breaks at block tags."""

    _SKIP = frozenset({"script", "style", "title", "template"})
    _BLOCK = frozenset(
        {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5",
         "h6", "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd",
         "dt", "dl", "address", "center", "form", "fieldset", "tbody", "thead", "body"}
    )
    _CELL = frozenset({"td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
            self._pre += tag == "pre"
        elif tag in self._CELL:
            self.parts.append("\t")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            self.parts.append(data.replace("\xa0", " "))
            return
        # A source line break between two Chinese characters is no space
        # (CSS Text 3 segment-break rule); elsewhere whitespace collapses.
        data = _CJK_LINE_BREAK.sub("", data)
        self.parts.append(_HTML_SPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """Plain text of an HTML document, in time linear in its (bounded) length."""
    head, tail = _defuse_html(html[:MAX_HTML_CHARS])
    parser = _HtmlText()
    # html.parser is lenient; if it still gives up, keep the text it produced.
    with contextlib.suppress(Exception):
        parser.feed(head)
        parser.close()
    text = "".join(parser.parts)
    if tail:
        text += "\n" + _strip_tags(tail)
    return normalize_text(text)


MAX_TAG_CHARS = 4096
# html.parser handles ~100 000 tags a second; past this many the rest is stripped
# by a regex instead (text kept, layout and script/style filtering lost).
MAX_HTML_TAGS = 20_000
_TAG = re.compile(r"<[^<>]*>")


def _strip_tags(html: str) -> str:
    return unescape(_TAG.sub(" ", html))


def _defuse_html(html: str) -> tuple[str, str]:
    """Make markup safe for html.parser in one linear pass; returns (markup for the
    parser, remainder to strip crudely once MAX_HTML_TAGS is spent).

    html.parser (3.11) rescans the rest of the input for every unterminated
    construct: 60 000 unclosed `<!--` took 88 s. Here comments are dropped (an
    unclosed one hides the rest, as in browsers), a `<` with no `>` within
    MAX_TAG_CHARS becomes text, and a tag with unbalanced quotes loses its quotes.
    """
    out: list[str] = []
    i, n = 0, len(html)
    next_gt = html.find(">")
    tags = 0
    while i < n:
        lt = html.find("<", i)
        if lt < 0:
            out.append(html[i:])
            break
        out.append(html[i:lt])
        if tags >= MAX_HTML_TAGS:
            return "".join(out), html[lt:]
        tags += 1
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            if end < 0:
                break
            i = end + 3
            continue
        if next_gt != -1 and next_gt <= lt:
            next_gt = html.find(">", lt + 1)
        if next_gt < 0 or next_gt - lt > MAX_TAG_CHARS:
            out.append("&lt;")
            i = lt + 1
            continue
        tag = html[lt : next_gt + 1]
        if tag.count('"') % 2 or tag.count("'") % 2:
            tag = tag.replace('"', "").replace("'", "")
        out.append(tag)
        i = next_gt + 1
    return "".join(out), ""


_BLANK_RUN = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Unify line ends, trim each line, keep at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.strip(" \t\u00a0\u3000") for line in text.split("\n")]
    joined = "\n".join(lines)
    return _BLANK_RUN.sub("\n\n", joined).strip()


_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def html_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None
