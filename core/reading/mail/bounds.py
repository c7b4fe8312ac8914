"""The bounds on one message, applied before and around the parser.

The parser is `email` with compat32 (see `core.reading.mail.parse`); these cuts keep
its cost linear in the input: an oversized header block, too many containers, too
many header lines or an overlong Content-Type make it read the headers only.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser

from core.reading.findings import Notes

MAX_PARTS = 200  # leaves and containers walked per message
MAX_MESSAGE_DEPTH = 5  # nested message/rfc822 (forwards of forwards)
MAX_MULTIPART_DEPTH = 40  # nested multipart containers
MAX_CONTAINERS = 100  # multipart/* and message/* declarations in the whole message
MAX_TOP_HEADER_LINES = 5_000  # lines of the message's own header block
MAX_HEADER_LINES = 20_000  # header-like lines in the whole message (parts included)
MAX_HEADER_CHARS = 16_384  # a header value is cut to this before decoding
MAX_STRUCTURAL_HEADER_BYTES = 8_192  # Content-Type/-Disposition the parser itself reads
MAX_BODY_CHARS = 2_000_000
MAX_MANIFEST_BYTES = 1_000_000

_PARSER = BytesParser(policy=policy.compat32)


def parse_bytes(
    raw: bytes, notes: Notes, *, headers_only: bool = False
) -> tuple[Message | None, bool]:
    """The parsed message and whether its body was parsed too."""
    if not headers_only:
        try:
            return _PARSER.parsebytes(raw), True
        except RecursionError:
            notes.add("too_deep", "MIME 结构嵌套过深，只读取了邮件头")
    try:
        return _PARSER.parsebytes(raw, headersonly=True), False
    except Exception:  # headers alone failing means there is nothing to read
        return None, False


# Content-Type and Content-Disposition are parsed by the email package itself
# (boundary, filename) with a parameter splitter that is quadratic in length.
_STRUCTURAL_HEADER = re.compile(
    rb"(?im)^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*"
)


def bound_structural_headers(raw: bytes, notes: Notes) -> bytes:
    if len(raw) <= MAX_STRUCTURAL_HEADER_BYTES:
        return raw
    cut = False

    def shorten(m: re.Match[bytes]) -> bytes:
        nonlocal cut
        text = m.group(0)
        if len(text) <= MAX_STRUCTURAL_HEADER_BYTES:
            return text
        cut = True
        return text[:MAX_STRUCTURAL_HEADER_BYTES].rstrip(b"\r")

    bounded = _STRUCTURAL_HEADER.sub(shorten, raw)
    if cut:
        notes.add(
            "header_too_long",
            f"Content-Type/Disposition 头超过 {MAX_STRUCTURAL_HEADER_BYTES} 字节，已截断",
        )
    return bounded


# The feedparser checks every line against every open boundary: deep nesting is
# quadratic (1000 levels ≈ 2 s). Legitimate mail has a handful of containers.
_CONTAINER = re.compile(rb"(?im)^content-type[ \t]*:\s*(?:multipart|message)/")


def too_many_containers(raw: bytes, notes: Notes) -> bool:
    if raw.count(b":") <= MAX_CONTAINERS:  # each declaration has its own colon
        return False
    for count, _ in enumerate(_CONTAINER.finditer(raw), start=1):
        if count > MAX_CONTAINERS:
            notes.add("too_many_parts", f"邮件含超过 {MAX_CONTAINERS} 个容器部分，只读取了邮件头")
            return True
    return False


# email parses ~150 000 header lines a second: a message of 300 000 one-line
# headers would take two seconds. Real mail has a few dozen per part.
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_HEADER_LIKE = re.compile(rb"(?m)^[!-9;-~]{1,100}:")


def bound_top_header_block(raw: bytes, notes: Notes) -> bytes:
    blank = _BLANK_LINE.search(raw)
    end = blank.start() if blank else len(raw)
    if raw.count(b"\n", 0, end) <= MAX_TOP_HEADER_LINES:
        return raw
    cut = 0
    for _ in range(MAX_TOP_HEADER_LINES):
        cut = raw.index(b"\n", cut) + 1
    notes.add("header_too_long", f"邮件头超过 {MAX_TOP_HEADER_LINES} 行，其余已舍弃")
    return raw[:cut] + raw[end:]


def too_many_header_lines(raw: bytes, notes: Notes) -> bool:
    if raw.count(b":") <= MAX_HEADER_LINES:  # each header line has its own colon
        return False
    for count, _ in enumerate(_HEADER_LIKE.finditer(raw), start=1):
        if count > MAX_HEADER_LINES:
            notes.add("header_too_long", f"邮件含超过 {MAX_HEADER_LINES} 行头部，只读取了邮件头")
            return True
    return False
