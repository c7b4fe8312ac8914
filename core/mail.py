"""Reading an incoming message: raw MIME bytes → `ParsedMessage`.

Pure and total: `parse_message` never raises and runs in time bounded by the
input size. Every defect it meets (broken base64, wrong charset, truncated
multipart…) is kept as a `Finding` for the intake checks to judge.

The parser is `email` with the compat32 policy on purpose: `policy.default`
builds a header object per access through its RFC 5322 grammar, which took
3.6 s on a 10 000-part message, 9.8 s on a 100 KB Content-Type and ran out of
memory on a 1 MB encoded-word Subject. compat32 hands back raw strings; the
decoding (RFC 2047 words, RFC 2231 parameters, 8-bit GBK headers) is done here,
on values cut to a bounded length first.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

MANIFEST_FILENAME = "签收单.json"

MAX_PARTS = 200  # leaves and containers walked per message
MAX_MESSAGE_DEPTH = 5  # nested message/rfc822 (forwards of forwards)
MAX_MULTIPART_DEPTH = 40  # nested multipart containers
MAX_CONTAINERS = 100  # multipart/* and message/* declarations in the whole message
MAX_TOP_HEADER_LINES = 5_000  # lines of the message's own header block
MAX_HEADER_LINES = 20_000  # header-like lines in the whole message (parts included)
MAX_HEADER_CHARS = 16_384  # a header value is cut to this before decoding
MAX_STRUCTURAL_HEADER_BYTES = 8_192  # Content-Type/-Disposition the parser itself reads
MAX_BODY_CHARS = 2_000_000
MAX_HTML_CHARS = 2_000_000
MAX_MANIFEST_BYTES = 1_000_000
MAX_FINDINGS = 100
_DETECT_BYTES = 65_536  # charset detection looks at this much

# Headers kept as decoded text, in their canonical spelling (To/Cc keep the display
# names that to_addresses drops).
USEFUL_HEADERS = (
    "To",
    "Cc",
    "X-Fax-Remote-ID",
    "X-Fax-Pages",
    "X-Personal",
    "X-Priority",
    "Importance",
    "Priority",
    "Sensitivity",
    "Reply-To",
    "Sender",
    "Return-Path",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "X-Mailer",
)
_CORE_HEADERS = ("from", "to", "cc", "subject", "date", "message-id")


@dataclass(frozen=True, slots=True)
class Finding:
    """One defect met while reading: a stable code and a detail for staff."""

    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-body part, decoded from its transfer encoding."""

    filename: str | None
    content_type: str
    data: bytes
    sha256: str
    charset: str | None = None

    @classmethod
    def of(
        cls, filename: str | None, content_type: str, data: bytes, charset: str | None = None
    ) -> Attachment:
        """Build an attachment, computing its sha256."""
        return cls(filename, content_type, data, hashlib.sha256(data).hexdigest(), charset)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The addressing headers of a forwarded (message/rfc822) message."""

    message_id: str | None
    from_address: str | None
    from_name: str | None
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything the registry reads from one message."""

    message_id: str | None
    from_address: str | None
    from_name: str | None
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str | None
    date: datetime | None
    headers: dict[str, str]
    body_text: str
    attachments: list[Attachment]
    manifest: dict[str, object] | None
    findings: list[Finding]
    parsed_ok: bool
    forwarded: list[Envelope] = field(default_factory=list)

    @property
    def documents(self) -> list[Attachment]:
        """The attachments that are documents, i.e. all but the 签收单 manifest."""
        return [a for a in self.attachments if not is_manifest_name(a.filename)]

    def has_finding(self, code: str) -> bool:
        """Whether any finding carries `code`."""
        return any(f.code == code for f in self.findings)


def is_manifest_name(filename: str | None) -> bool:
    """Whether a part's filename names the 签收单 manifest."""
    return filename is not None and filename.strip().lower() == MANIFEST_FILENAME


# ---------------------------------------------------------------- entry point

_PARSER = BytesParser(policy=policy.compat32)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw message bytes; never raises: defects become findings."""
    try:
        return _parse(bytes(raw))
    except Exception as exc:  # last line of defence: the intake must get an answer
        return _unparseable(Finding("unparseable", f"无法解析邮件：{type(exc).__name__}"))


def _unparseable(finding: Finding) -> ParsedMessage:
    return ParsedMessage(
        message_id=None, from_address=None, from_name=None, to_addresses=[], cc_addresses=[],
        subject=None, date=None, headers={}, body_text="", attachments=[], manifest=None,
        findings=[finding], parsed_ok=False,
    )


def _parse(raw: bytes) -> ParsedMessage:
    notes = _Notes()
    whole = _bound_top_header_block(raw, notes)
    skeleton, regions = _Regions.cut(whole)
    del whole  # the regions keep what they need
    bounded = _bound_structural_headers(skeleton, notes)
    del skeleton
    headers_only = _too_many_containers(bounded, notes) or _too_many_header_lines(bounded, notes)
    msg, complete = _parse_bytes(bounded, notes, headers_only=headers_only)
    if msg is None:
        return _unparseable(Finding("unparseable", "邮件结构无法解析"))
    fields = _fields(msg)
    parsed_ok = any(h in fields for h in _CORE_HEADERS)
    if not parsed_ok:
        notes.add("unparseable", "找不到邮件头（发件人、主题、日期等），内容不像邮件")
    env = _read_envelope(fields, notes)
    headers = {}
    for name in USEFUL_HEADERS:
        value = _header(fields, name, notes)
        if value is not None:
            headers[name] = value
    walker = _Walker(notes, regions)
    if parsed_ok and complete:
        walker.walk(msg, message_depth=0, multipart_depth=0)
    return ParsedMessage(
        message_id=env.message_id, from_address=env.from_address, from_name=env.from_name,
        to_addresses=env.to_addresses, cc_addresses=env.cc_addresses, subject=env.subject,
        date=env.date, headers=headers, body_text=walker.body_text(),
        attachments=walker.attachments, manifest=walker.manifest, findings=notes.findings,
        parsed_ok=parsed_ok, forwarded=walker.forwarded,
    )


def _parse_bytes(
    raw: bytes, notes: _Notes, *, headers_only: bool = False
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


class _Notes:
    """Findings of one parse, de-duplicated and capped."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._seen: set[Finding] = set()

    def add(self, code: str, detail: str) -> None:
        finding = Finding(code, detail)
        if finding in self._seen:
            return
        if len(self.findings) == MAX_FINDINGS:
            self.findings.append(Finding("too_many_findings", "问题过多，其余未列出"))
        if len(self.findings) > MAX_FINDINGS:
            return
        self._seen.add(finding)
        self.findings.append(finding)


# Content-Type and Content-Disposition are parsed by the email package itself
# (boundary, filename) with a parameter splitter that is quadratic in length.
_STRUCTURAL_HEADER = re.compile(
    rb"(?im)^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*"
)


def _bound_structural_headers(raw: bytes, notes: _Notes) -> bytes:
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


def _too_many_containers(raw: bytes, notes: _Notes) -> bool:
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


def _bound_top_header_block(raw: bytes, notes: _Notes) -> bytes:
    blank = _BLANK_LINE.search(raw)
    end = blank.start() if blank else len(raw)
    if raw.count(b"\n", 0, end) <= MAX_TOP_HEADER_LINES:
        return raw
    cut = 0
    for _ in range(MAX_TOP_HEADER_LINES):
        cut = raw.index(b"\n", cut) + 1
    notes.add("header_too_long", f"邮件头超过 {MAX_TOP_HEADER_LINES} 行，其余已舍弃")
    return raw[:cut] + raw[end:]


def _too_many_header_lines(raw: bytes, notes: _Notes) -> bool:
    if raw.count(b":") <= MAX_HEADER_LINES:  # each header line has its own colon
        return False
    for count, _ in enumerate(_HEADER_LIKE.finditer(raw), start=1):
        if count > MAX_HEADER_LINES:
            notes.add("header_too_long", f"邮件含超过 {MAX_HEADER_LINES} 行头部，只读取了邮件头")
            return True
    return False


# ---------------------------------------------------------------- headers


def _fields(msg: Message) -> dict[str, str]:
    """First raw value of each header, by lower-case name (one pass over the headers)."""
    fields: dict[str, str] = {}
    for key, value in msg.raw_items():
        fields.setdefault(key.lower(), str(value))
    return fields


def _raw_header(msg: Message, name: str) -> str | None:
    """The first raw value of header `name` (8-bit bytes kept as surrogates)."""
    lower = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lower:
            return str(value)
    return None


_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATE = re.compile("[\udc80-\udcff]")
_SPACES = re.compile(r"\s+")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).strip()


def _bounded_header(fields: Mapping[str, str], name: str, notes: _Notes) -> str | None:
    """Raw header value, unfolded, cut to MAX_HEADER_CHARS, 8-bit bytes decoded."""
    value = fields.get(name.lower())
    if value is None:
        return None
    if len(value) > MAX_HEADER_CHARS:
        notes.add("header_too_long", f"{name} 头超过 {MAX_HEADER_CHARS} 字符，已截断")
        value = value[:MAX_HEADER_CHARS]
    value = _unfold(value)
    if _has_surrogates(value):
        data = value.encode("ascii", "surrogateescape")
        value, how = _guess_decode(data)
        notes.add("charset_guess", f"{name} 头含未声明编码的 8 位字符，按 {how} 解码")
    return value


def _header(fields: Mapping[str, str], name: str, notes: _Notes) -> str | None:
    """A header value fully decoded to text (RFC 2047 words included)."""
    value = _bounded_header(fields, name, notes)
    if value is None:
        return None
    return _clean_line(decode_words(value, notes, name))


def _has_surrogates(value: str) -> bool:
    return not value.isascii() and _SURROGATE.search(value) is not None


def _clean_line(value: str) -> str:
    """Collapse whitespace and drop control characters in a one-line value."""
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() else " " for ch in value)
    return _SPACES.sub(" ", value).strip()


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def decode_words(value: str, notes: _Notes | None = None, name: str = "") -> str:
    """Decode RFC 2047 encoded words; adjacent words in one charset are joined as bytes.

    Joining matters: Chinese mailers split a multi-byte character across words.
    """
    out: list[str] = []
    pending: bytearray = bytearray()
    pending_charset = ""
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            text, ok = _decode_declared(bytes(pending), pending_charset)
            if not ok and notes is not None:
                notes.add("undecodable_header", f"{name} 头的编码字 {pending_charset} 无法解码")
            out.append(text)
        pending = bytearray()
        pending_charset = ""

    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        # Whitespace between two encoded words is folding, not text (RFC 2047 §6.2).
        if between and not (pos > 0 and between.isspace()):
            flush()
            out.append(between)
        charset = m.group(1).split("*", 1)[0].lower()
        word = _decode_word(m.group(2).lower(), m.group(3))
        if word is None:
            flush()
            if notes is not None:
                notes.add("undecodable_header", f"{name} 头含损坏的编码字")
            out.append(m.group(0))
        else:
            if pending and charset != pending_charset:
                flush()
            pending_charset = charset
            pending += word
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def _decode_word(encoding: str, text: str) -> bytes | None:
    try:
        if encoding == "b":
            data, _ = decode_base64(text)
            return data
        return binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
    except (ValueError, binascii.Error):
        return None


def _addresses(
    fields: Mapping[str, str], name: str, notes: _Notes
) -> list[tuple[str | None, str]]:
    """(display name, lower-cased address) pairs of an address header."""
    value = _bounded_header(fields, name, notes)
    if value is None:
        return []
    try:
        pairs = getaddresses([value])
    except Exception:  # the address grammar is old code; a bad header is a finding
        notes.add("bad_address", f"{name} 头无法解析")
        return []
    result: list[tuple[str | None, str]] = []
    for display, addr in pairs:
        address = addr.strip().lower()
        if not address:
            continue
        decoded = _clean_line(decode_words(display, notes, name)) if display else ""
        result.append((decoded or None, address))
    if not result and value.strip():
        notes.add("bad_address", f"{name} 头中没有可识别的地址")
    return result


_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def _message_id(fields: Mapping[str, str], notes: _Notes) -> str | None:
    value = _bounded_header(fields, "Message-ID", notes)
    if not value:
        return None
    m = _ANGLE_ID.search(value)
    if m:
        return m.group(1)
    token = value.strip().strip("<>").split()
    if token:
        notes.add("mime_defect", "Message-ID 格式不规范")
        return token[0].strip("<>") or None
    return None


def _date(fields: Mapping[str, str], notes: _Notes) -> datetime | None:
    value = _bounded_header(fields, "Date", notes)
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:  # parsedate raises a variety of errors on nonsense
        notes.add("bad_date", "Date 头无法解析")
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000": the time is UTC, the sender's zone unknown.
        notes.add("date_no_zone", "Date 头没有时区，按 UTC 处理")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _read_envelope(fields: Mapping[str, str], notes: _Notes) -> Envelope:
    senders = _addresses(fields, "From", notes)
    from_name, from_address = senders[0] if senders else (None, None)
    return Envelope(
        message_id=_message_id(fields, notes),
        from_address=from_address,
        from_name=from_name,
        to_addresses=[a for _, a in _addresses(fields, "To", notes)],
        cc_addresses=[a for _, a in _addresses(fields, "Cc", notes)],
        subject=_header(fields, "Subject", notes),
        date=_date(fields, notes),
    )


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


def _decode_declared(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode by a declared label; (text, True) when it fit, else a guess and False."""
    codec = codec_for(charset)
    if codec is not None:
        try:
            return data.decode(codec), True
        except (UnicodeDecodeError, LookupError):
            pass
    text, _ = _guess_decode(data)
    return text, False


def _guess_decode(data: bytes) -> tuple[str, str]:
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
    text, how = _guess_decode(data)
    label = f"声明为 {declared}" if declared else "未声明字符集"
    return text, [Finding("charset_guess", f"{label}，按 {how} 解码")]


# ---------------------------------------------------------------- transfer encodings

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_SPACE = b" \t\n\r\x0b\x0c"  # what rb"\\s" matches
_B64_JUNK = bytes(sorted(set(range(256)) - set(_B64_ALPHABET + b"=")))
_B64_SPACE_STR = _B64_SPACE.decode("ascii")
_B64_SLICE = 1 << 20  # a long payload is cleaned and decoded this much at a time


class _Base64Decoder:
    """Lenient base64 fed in slices: whitespace dropped, other junk dropped and noted,
    each `=`-separated chunk decoded on its own (a chunk of 4n+1 characters loses its
    last one). Decodes as it goes, so a long payload is never copied whole."""

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.problems: list[str] = []
        self.junk = False
        self._carry = b""  # characters of the current chunk not decoded yet (< 4)
        self._chunk_len = 0

    def feed(self, data: bytes) -> None:
        for i in range(0, len(data), _B64_SLICE):
            compact = data[i : i + _B64_SLICE].translate(None, _B64_SPACE)
            cleaned = compact.translate(None, _B64_JUNK)
            self.junk = self.junk or len(cleaned) != len(compact)
            pieces = cleaned.split(b"=")
            self._extend(pieces[0])
            for piece in pieces[1:]:
                self._close_chunk(last=False)
                self._extend(piece)

    def result(self) -> tuple[bytes, str | None]:
        self._close_chunk(last=True)
        problems = (["含非法字符"] if self.junk else []) + self.problems
        data = b"".join(self.out)
        self.out.clear()
        return data, ("、".join(dict.fromkeys(problems)) or None)

    def _extend(self, piece: bytes) -> None:
        if not piece:
            return
        self._chunk_len += len(piece)
        pending = self._carry + piece
        whole = len(pending) - len(pending) % 4
        if whole:
            self._decode(pending[:whole])
        self._carry = pending[whole:]

    def _close_chunk(self, *, last: bool) -> None:
        rem = self._chunk_len % 4
        carry = self._carry
        if rem == 1:
            carry = b""
            self.problems.append("长度不完整")
        elif rem and last:
            self.problems.append("缺少结尾填充，可能被截断")
        if carry:
            self._decode(carry + b"=" * (-len(carry) % 4))
        self._carry = b""
        self._chunk_len = 0

    def _decode(self, quads: bytes) -> None:
        try:
            self.out.append(binascii.a2b_base64(quads))
        except (binascii.Error, ValueError):
            self.problems.append("无法解码")


def decode_base64(text: str | bytes) -> tuple[bytes, str | None]:
    """Lenient base64: keep what decodes; the second item says what was wrong."""
    decoder = _Base64Decoder()
    _feed_base64(decoder, text)
    return decoder.result()


def _feed_base64(decoder: _Base64Decoder, text: str | bytes) -> None:
    if isinstance(text, str):
        decoder.junk = decoder.junk or not text.isascii()
        text = text.encode("ascii", "ignore")
    decoder.feed(text)


# ---------------------------------------------------------------- long base64 bodies
#
# The email parser reads every line of the message into Python strings: a 30 MB
# attachment cost ~9 s and ~10× its size. Runs of base64 lines are inert to it (no
# boundary, no header can be among them), so long runs are cut out before parsing and
# a token line stands in; the walker decodes a token from the original bytes with
# one binascii call. The parser sees the same structure, so the result is the same.

MIN_REGION_BYTES = 64 * 1024  # shorter bodies are parsed as they are
_SCAN_BLOCK = 16 * 1024  # < MIN_REGION_BYTES / 3: a long run covers whole blocks
_RUN_BYTES = _B64_ALPHABET + b"=\r\n"
_NOT_RUN = re.compile(rb"[^A-Za-z0-9+/=\r\n]")
_BLANK_LINE_END = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")
_CONTAINER_VALUE = (b"multipart/", b"message/")
_LF, _CR = 10, 13


@dataclass(frozen=True, slots=True)
class _Span:
    """Bytes [start, end) of `buf`, standing behind one token."""

    buf: bytes
    start: int
    end: int


class _Regions:
    """The long base64 runs cut out of one parsed buffer (an encoded forward, parsed on
    its own, has its own)."""

    marker = "JiyaoCutRegion"
    _token = re.compile(marker + r"(\d+)Z")

    def __init__(self, spans: list[_Span]) -> None:
        self.spans = spans

    @classmethod
    def cut(cls, data: bytes) -> tuple[bytes, _Regions]:
        """`data` with each long run replaced by a token line, and the runs."""
        spans: list[_Span] = []
        out: list[bytes] = []
        pos = 0
        for start, end in _long_runs(data):
            out += [data[pos:start], f"{cls.marker}{len(spans)}Z".encode("ascii")]
            spans.append(_Span(data, start, end))
            pos = end
        if not out:
            return data, cls([])
        out.append(data[pos:])
        skeleton = b"".join(out)
        if skeleton.count(cls.marker.encode("ascii")) != len(spans):
            return data, cls([])  # the message holds the marker itself: parse it whole
        return skeleton, cls(spans)

    def holds(self, text: str) -> bool:
        """Whether a payload contains tokens."""
        return bool(self.spans) and self.marker in text

    def pieces(self, text: str) -> list[str | _Span]:
        """A payload as its own text and the spans behind its tokens, in order."""
        out: list[str | _Span] = []
        pos = 0
        for m in self._token.finditer(text):
            out += [text[pos : m.start()], self.spans[int(m.group(1))]]
            pos = m.end()
        out.append(text[pos:])
        return [p for p in out if not isinstance(p, str) or p]

    def restore(self, text: str) -> str:
        """The payload as the parser would have given it without the cut."""
        return "".join(
            p if isinstance(p, str) else p.buf[p.start : p.end].decode("ascii")
            for p in self.pieces(text)
        )

    def decode_base64(self, text: str) -> tuple[bytes, str | None]:
        """`decode_base64(self.restore(text))` without building the restored text."""
        pieces = self.pieces(text)
        # line breaks around the token (a single-part body) change nothing
        core = [p for p in pieces if not isinstance(p, str) or p.strip(_B64_SPACE_STR)]
        if len(core) == 1 and isinstance(core[0], _Span) and _padded_at_end(core[0]):
            span = core[0]
            # a span binascii takes whole (4n characters, padding only at the end) decodes
            # as decode_base64 would; binascii refuses any other and the slow path takes it
            with contextlib.suppress(binascii.Error):
                return binascii.a2b_base64(memoryview(span.buf)[span.start : span.end]), None
        decoder = _Base64Decoder()
        for piece in pieces:
            if isinstance(piece, str):
                _feed_base64(decoder, piece)
            else:
                for i in range(piece.start, piece.end, _B64_SLICE):
                    decoder.feed(piece.buf[i : min(i + _B64_SLICE, piece.end)])
        return decoder.result()


def _padded_at_end(span: _Span) -> bool:
    """Whether `=` occurs in the span only as padding at its very end."""
    first = span.buf.find(b"=", span.start, span.end)
    return first < 0 or (span.end - first <= 4 and not span.buf[first : span.end].strip(b"="))


def _long_runs(data: bytes) -> list[tuple[int, int]]:
    """Body regions of at least MIN_REGION_BYTES made of base64 lines only.

    A region starts at a line after a blank line (so it is a body, never a header
    block), right after an LF (so no header regex runs into it), and ends at the end
    of a line; the line after it keeps its own line break.
    """
    if len(data) < MIN_REGION_BYTES:
        return []
    regions: list[tuple[int, int]] = []
    for start, end in _pure_runs(data):
        region = _region_in(data, start, end)
        if region is not None:
            regions.append(region)
    return regions


def _pure_runs(data: bytes) -> list[tuple[int, int]]:
    """Maximal runs of base64-line bytes covering at least one whole scan block."""
    size = len(data)
    blocks = -(-size // _SCAN_BLOCK)

    def pure(block: int) -> bool:
        start = block * _SCAN_BLOCK
        return not data[start : start + _SCAN_BLOCK].translate(None, _RUN_BYTES)

    runs: list[tuple[int, int]] = []
    block = 0
    while block < blocks:
        if not pure(block):
            block += 1
            continue
        first = block
        while block < blocks and pure(block):
            block += 1
        # the blocks just before and after are impure: the run's ends are inside them
        low = first * _SCAN_BLOCK
        start = 0
        for m in _NOT_RUN.finditer(data, max(0, low - _SCAN_BLOCK), low):
            start = m.end()
        high = min(size, block * _SCAN_BLOCK)
        after = _NOT_RUN.search(data, high, min(size, high + _SCAN_BLOCK))
        runs.append((start, after.start() if after is not None else size))
        block += 1
    return runs


def _region_in(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    blank = _BLANK_LINE_END.search(data, start, end)
    if blank is None:
        return None
    first = blank.end()
    while first < end and data[first] in (_LF, _CR):
        first += 1
    if data[first - 1] != _LF:
        return None
    if end < len(data):  # the run stops inside a line: stop before that line
        last_break = max(data.rfind(b"\n", first, end), data.rfind(b"\r", first, end))
        if last_break < 0:
            return None
        end = last_break + 1
    while end > first and data[end - 1] in (_LF, _CR):
        end -= 1
    if end - first < MIN_REGION_BYTES:
        return None
    if data[first : first + 10].lower().startswith(_CONTAINER_VALUE):
        return None  # `Content-Type:` + blank line + `multipart/…`: counted as a container
    return first, end


def _transfer_encoding(part: Message) -> str:
    value = _raw_header(part, "Content-Transfer-Encoding")
    return value.strip().lower() if value else ""


def _cut_payload(part: Message, regions: _Regions, *, keep: bool) -> str | None:
    """The part's payload when it holds tokens and may stay cut (`keep`, and ASCII);
    otherwise the cut bytes are put back into the part and None is returned.

    compat32's get_payload() re-decodes a payload with 8-bit bytes by its charset, so
    such a payload must be whole again before anyone reads it.
    """
    internal = getattr(part, "_payload", None)  # the parser's own string
    if not isinstance(internal, str) or not regions.holds(internal):
        return None
    if keep and internal.isascii():
        return internal
    part.set_payload(regions.restore(internal))
    return None


def _part_bytes(part: Message, label: str, notes: _Notes, regions: _Regions) -> bytes:
    cte = _transfer_encoding(part)
    cut = _cut_payload(part, regions, keep=cte == "base64")
    if cte == "base64":
        if cut is not None:
            data, problem = regions.decode_base64(cut)
        else:
            payload = part.get_payload()
            data, problem = decode_base64(payload if isinstance(payload, str) else "")
        if problem:
            notes.add("bad_base64", f"{label} 的 base64 编码{problem}")
        return data
    decoded = part.get_payload(decode=True)
    if isinstance(decoded, bytes):
        return decoded
    return b""


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


def _html_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


# ---------------------------------------------------------------- parameters


def _param(part: Message, name: str, header: str, notes: _Notes) -> str | None:
    """A Content-Type/-Disposition parameter, RFC 2231 and RFC 2047 decoded."""
    raw = _raw_header(part, header)
    if raw is None:
        return None
    source = part
    if _has_surrogates(raw):
        # compat32 would hand back U+FFFD for raw 8-bit bytes (a GBK filename sent
        # unencoded); decode the header first, then let email split the parameters.
        text, how = _guess_decode(raw.encode("ascii", "surrogateescape"))
        notes.add("charset_guess", f"{header} 头含未声明编码的 8 位字符，按 {how} 解码")
        source = Message()
        source[header] = text
    try:
        value = source.get_param(name, header=header)
    except Exception:  # a malformed parameter list is a finding, not a crash
        notes.add("mime_defect", f"{header} 参数无法解析")
        return None
    if value is None:
        return None
    if isinstance(value, tuple):
        charset, _, encoded = value
        data = str(encoded).encode("raw-unicode-escape")
        decoded, ok = _decode_declared(data, charset or "utf-8")
        if not ok:
            notes.add("charset_guess", f"参数 {name} 的字符集 {charset} 不符，按推测解码")
        return decoded
    return decode_words(str(value), notes, name)


_PATH_SEP = re.compile(r"[\\/]")


def _filename(part: Message, notes: _Notes) -> str | None:
    name = _param(part, "filename", "content-disposition", notes)
    if not name:
        name = _param(part, "name", "content-type", notes)
    if not name:
        return None
    name = _clean_line(name[:MAX_HEADER_CHARS])
    name = _PATH_SEP.split(name)[-1].strip()  # a path is the sender's, not ours
    return name[:255] or None


# ---------------------------------------------------------------- the walk

# email's own defects, as finding codes.
_TRUNCATION_DEFECTS = (email_errors.CloseBoundaryNotFoundDefect,)


class _Walker:
    """Walks the MIME tree once, collecting body text, attachments and the manifest."""

    def __init__(self, notes: _Notes, regions: _Regions) -> None:
        self.notes = notes
        self.regions = regions
        self.bodies: list[str] = []
        self.attachments: list[Attachment] = []
        self.forwarded: list[Envelope] = []
        self.manifest: dict[str, object] | None = None
        self._manifest_seen = False
        self._parts = 0
        self._stopped = False

    def body_text(self) -> str:
        text = "\n\n".join(b for b in self.bodies if b)
        if len(text) > MAX_BODY_CHARS:
            self.notes.add("text_limit", f"正文超过 {MAX_BODY_CHARS} 字符，已截断")
            text = text[:MAX_BODY_CHARS]
        return text

    def walk(self, part: Message, message_depth: int, multipart_depth: int) -> None:
        if self._parts >= MAX_PARTS:
            if not self._stopped:
                self.notes.add("too_many_parts", f"邮件超过 {MAX_PARTS} 个部分，其余未读取")
                self._stopped = True
            return
        self._parts += 1
        self._record_defects(part)
        try:
            self._visit(part, message_depth, multipart_depth)
        except RecursionError:
            self.notes.add("too_deep", "MIME 结构嵌套过深")
        except Exception as exc:  # one bad part must not lose the others
            self.notes.add("mime_defect", f"第 {self._parts} 部分无法读取：{type(exc).__name__}")

    def _visit(self, part: Message, message_depth: int, multipart_depth: int) -> None:
        ctype = part.get_content_type()
        payload = part.get_payload()
        if isinstance(payload, list):
            subs = [sub for sub in payload if isinstance(sub, Message)]
            if multipart_depth >= MAX_MULTIPART_DEPTH:
                self.notes.add("too_deep", f"multipart 嵌套超过 {MAX_MULTIPART_DEPTH} 层")
                return
            if part.get_content_maintype() == "message":
                self._visit_message(part, subs, message_depth, multipart_depth)
            elif ctype == "multipart/alternative":
                self._visit_alternative(subs, message_depth, multipart_depth + 1)
            else:
                for sub in subs:
                    self.walk(sub, message_depth, multipart_depth + 1)
            return
        if part.get_content_maintype() == "multipart":
            self.notes.add("mime_defect", f"{ctype} 没有可用的分隔线，该部分未读取")
            return
        self._visit_leaf(part, ctype, message_depth)

    def _visit_message(
        self, part: Message, payload: list[Message], message_depth: int, multipart_depth: int
    ) -> None:
        if message_depth >= MAX_MESSAGE_DEPTH:
            self.notes.add("too_deep", f"转发邮件嵌套超过 {MAX_MESSAGE_DEPTH} 层，未读取")
            return
        if part.get_content_type() == "message/delivery-status":
            return
        for sub in payload:
            outer = self.regions
            inner = self._reparse_encoded(part, sub)  # may switch to its own regions
            try:
                if inner is not None:
                    self.forwarded.append(_read_envelope(_fields(inner), self.notes))
                    self.walk(inner, message_depth + 1, multipart_depth + 1)
            finally:
                self.regions = outer

    def _reparse_encoded(self, part: Message, sub: Message) -> Message | None:
        """A message/rfc822 sent base64/QP-encoded (non-standard) is decoded and parsed
        (its own cut runs become the walker's regions)."""
        cte = _transfer_encoding(part)
        if cte not in {"base64", "quoted-printable"} or list(sub.raw_items()):
            return sub
        regions = self.regions
        cut = _cut_payload(sub, regions, keep=cte == "base64")
        body = sub.get_payload()
        text = body if isinstance(body, str) else ""
        if cte == "base64":
            data, problem = regions.decode_base64(cut) if cut is not None else decode_base64(text)
            if problem:
                self.notes.add("bad_base64", f"转发邮件的 base64 编码{problem}")
        else:
            data = binascii.a2b_qp(text.encode("ascii", "replace"))
        self.notes.add("mime_defect", f"message/rfc822 使用了 {cte} 编码")
        skeleton, self.regions = _Regions.cut(data)
        del data
        inner, complete = _parse_bytes(_bound_structural_headers(skeleton, self.notes), self.notes)
        return inner if complete else None

    def _visit_alternative(
        self, payload: list[Message], message_depth: int, multipart_depth: int
    ) -> None:
        """Keep the body of the richest alternative only (they say the same thing)."""
        start = len(self.bodies)
        best: list[str] = []
        for sub in payload:
            mark = len(self.bodies)
            self.walk(sub, message_depth, multipart_depth)
            candidate = self.bodies[mark:]
            del self.bodies[mark:]
            if sum(len(t) for t in candidate) > sum(len(t) for t in best):
                best = candidate
        self.bodies[start:] = best

    def _visit_leaf(self, part: Message, ctype: str, message_depth: int) -> None:
        label = f"第 {self._parts} 部分"
        filename = _filename(part, self.notes)
        if filename:
            label = f"附件“{filename}”"
        data = _part_bytes(part, label, self.notes, self.regions)
        disposition = (part.get_content_disposition() or "").lower()
        charset = _param(part, "charset", "content-type", self.notes)
        if ctype in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
            self.bodies.append(self._body(data, ctype, charset, label))
            return
        attachment = Attachment.of(filename, ctype, data, charset)
        self.attachments.append(attachment)
        if is_manifest_name(filename):
            self._read_manifest(attachment)

    def _body(self, data: bytes, ctype: str, charset: str | None, label: str) -> str:
        if ctype == "text/html" and not charset:
            charset = _html_charset(data)
        text, findings = decode_text(data, charset)
        for f in findings:
            self.notes.add(f.code, f"{label}：{f.detail}")
        if ctype == "text/html":
            return html_to_text(text)
        return normalize_text(text)

    def _read_manifest(self, attachment: Attachment) -> None:
        if self._manifest_seen:
            self.notes.add("manifest_duplicate", "邮件中有多个签收单，只采用第一个")
            return
        self._manifest_seen = True
        self.manifest = _manifest(attachment.data, self.notes)

    def _record_defects(self, part: Message) -> None:
        for defect in getattr(part, "defects", []):
            if isinstance(defect, _TRUNCATION_DEFECTS):
                self.notes.add("truncated", "缺少结束分隔线，邮件可能被截断")
            else:
                self.notes.add("mime_defect", type(defect).__name__)


def _manifest(data: bytes, notes: _Notes) -> dict[str, object] | None:
    if len(data) > MAX_MANIFEST_BYTES:
        notes.add("manifest_invalid", "签收单过大")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text, _ = _guess_decode(data)
        notes.add("charset_guess", "签收单不是 UTF-8 编码")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        notes.add("manifest_invalid", "签收单不是有效的 JSON")
        return None
    if not isinstance(value, dict):
        notes.add("manifest_invalid", "签收单不是 JSON 对象")
        return None
    return value
