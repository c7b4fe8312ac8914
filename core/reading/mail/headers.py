"""Header values as text: unfolding, RFC 2047 words, RFC 2231 parameters, 8-bit
headers, addresses, Message-ID and Date, all on values cut to a bounded length."""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from core.reading.findings import Notes
from core.reading.mail.bounds import MAX_HEADER_CHARS
from core.reading.mail.message import Addressing
from core.reading.mail.transfer import decode_base64
from core.reading.text import decode_declared, guess_decode


def header_fields(msg: Message) -> dict[str, str]:
    """First raw value of each header, by lower-case name (one pass over the headers)."""
    fields: dict[str, str] = {}
    for key, value in msg.raw_items():
        fields.setdefault(key.lower(), str(value))
    return fields


def raw_header(msg: Message, name: str) -> str | None:
    """The first raw value of header `name` (8-bit bytes kept as surrogates)."""
    lower = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lower:
            return str(value)
    return None


def transfer_encoding(part: Message) -> str:
    """The part's Content-Transfer-Encoding, lower case ("" when none)."""
    value = raw_header(part, "Content-Transfer-Encoding")
    return value.strip().lower() if value else ""


_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATE = re.compile("[\udc80-\udcff]")
_SPACES = re.compile(r"\s+")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).strip()


def _bounded_header(fields: Mapping[str, str], name: str, notes: Notes) -> str | None:
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
        value, how = guess_decode(data)
        notes.add("charset_guess", f"{name} 头含未声明编码的 8 位字符，按 {how} 解码")
    return value


def header_text(fields: Mapping[str, str], name: str, notes: Notes) -> str | None:
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


def decode_words(value: str, notes: Notes | None = None, name: str = "") -> str:
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
            text, ok = decode_declared(bytes(pending), pending_charset)
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
    fields: Mapping[str, str], name: str, notes: Notes
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


def _message_id(fields: Mapping[str, str], notes: Notes) -> str | None:
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


def _date(fields: Mapping[str, str], notes: Notes) -> datetime | None:
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


def read_addressing(fields: Mapping[str, str], notes: Notes) -> Addressing:
    senders = _addresses(fields, "From", notes)
    from_name, from_address = senders[0] if senders else (None, None)
    return Addressing(
        message_id=_message_id(fields, notes),
        from_address=from_address,
        from_name=from_name,
        to_addresses=[a for _, a in _addresses(fields, "To", notes)],
        cc_addresses=[a for _, a in _addresses(fields, "Cc", notes)],
        subject=header_text(fields, "Subject", notes),
        date=_date(fields, notes),
    )


# ---------------------------------------------------------------- parameters


def param(part: Message, name: str, header: str, notes: Notes) -> str | None:
    """A Content-Type/-Disposition parameter, RFC 2231 and RFC 2047 decoded."""
    raw = raw_header(part, header)
    if raw is None:
        return None
    source = part
    if _has_surrogates(raw):
        # compat32 would hand back U+FFFD for raw 8-bit bytes (a GBK filename sent
        # unencoded); decode the header first, then let email split the parameters.
        text, how = guess_decode(raw.encode("ascii", "surrogateescape"))
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
        decoded, ok = decode_declared(data, charset or "utf-8")
        if not ok:
            notes.add("charset_guess", f"参数 {name} 的字符集 {charset} 不符，按推测解码")
        return decoded
    return decode_words(str(value), notes, name)


_PATH_SEP = re.compile(r"[\\/]")


def filename_of(part: Message, notes: Notes) -> str | None:
    name = param(part, "filename", "content-disposition", notes)
    if not name:
        name = param(part, "name", "content-type", notes)
    if not name:
        return None
    name = _clean_line(name[:MAX_HEADER_CHARS])
    name = _PATH_SEP.split(name)[-1].strip()  # a path is the sender's, not ours
    return name[:255] or None
