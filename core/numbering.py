"""Outgoing numbers (发文字号, DOMAIN §5): GB/T 9704 format and a lenient parser.

Two styles:

- ``year``: ``甘府发〔2026〕12号`` — full year in 〔〕, no leading zero, no 第.
- ``issue``: periodicals and minutes, ``政府会 第3期``. Issues restart every year like
  the 〔year〕 codes, so the stored (unique) form carries the year: ``政府会 2026年第3期``;
  the short form ``政府会 第3期`` is what the document shows and what staff type.

Staff type variants (``[2026]``, ``（2026）``, ``第12号``, spaces, full-width digits);
`parse_number` accepts them and `format_ref` gives the one canonical text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.errors import InvalidInputError
from core.registers import normalize_width

Style = Literal["year", "issue"]

#: opening and closing brackets staff use around the year (any opener with any closer)
_OPEN = "〔[(（【〖﹝［"
_CLOSE = "〕])）】〗﹞］"

#: characters a code may not contain: digits, brackets and the structural words
_CODE = rf"[^\d{re.escape(_OPEN + _CLOSE)}第号期年]+"

_YEAR_STYLE = re.compile(
    rf"^(?P<code>{_CODE})[{re.escape(_OPEN)}](?P<year>\d{{4}})[{re.escape(_CLOSE)}]"
    r"第?(?P<seq>\d+)号?$"
)
_ISSUE_STYLE = re.compile(
    rf"^(?P<code>{_CODE})"
    rf"(?:[{re.escape(_OPEN)}](?P<byear>\d{{4}})[{re.escape(_CLOSE)}]|(?P<nyear>\d{{4}})年)?"
    r"第(?P<seq>\d+)期$"
)
#: every kind of space staff paste: ASCII, ideographic, no-break, thin
_SPACES = re.compile(r"[\s\u3000\u00a0\u2002-\u200b]+")

#: no code issues more numbers in a year; a longer sequence is a typo
MAX_SEQ = 999_999

EXAMPLES = "例如 甘府发〔2026〕12号、政府会 第3期"


@dataclass(frozen=True)
class DispatchRef:
    """A parsed outgoing number; `year` is None only for a short issue number."""

    code: str
    seq: int
    year: int | None = None
    style: Style = "year"


def format_number(code: str, year: int, seq: int, style: Style = "year") -> str:
    """The canonical stored number: 甘府发〔2026〕12号, or 政府会 2026年第3期."""
    if seq < 1:
        raise ValueError(f"sequence must be >= 1, got {seq}")
    if style == "year":
        return f"{code}〔{year}〕{seq}号"
    return f"{code} {year}年第{seq}期"


def format_short(code: str, seq: int) -> str:
    """An issue number as the document shows it: 政府会 第3期."""
    return f"{code} 第{seq}期"


def format_ref(ref: DispatchRef) -> str:
    """The canonical text of a parsed number (short form for a year-less issue)."""
    if ref.year is None:
        if ref.style == "year":
            raise ValueError("a 〔year〕 number needs its year")
        return format_short(ref.code, ref.seq)
    return format_number(ref.code, ref.year, ref.seq, ref.style)


def parse_number(text: str) -> DispatchRef:
    """Parse what staff typed; raise `InvalidInputError` (in Chinese) when it is no number."""
    cleaned = _SPACES.sub("", normalize_width(text))
    m = _YEAR_STYLE.match(cleaned)
    if m:
        return DispatchRef(m["code"], _seq(m["seq"], text), int(m["year"]), "year")
    m = _ISSUE_STYLE.match(cleaned)
    if m:
        year = m["byear"] or m["nyear"]
        return DispatchRef(m["code"], _seq(m["seq"], text), int(year) if year else None, "issue")
    raise InvalidInputError(f"无法识别的发文字号 {text!r}（{EXAMPLES}）", field="number")


def normalize_number(text: str) -> str:
    """Any accepted variant → its canonical form."""
    return format_ref(parse_number(text))


def _seq(digits: str, text: str) -> int:
    seq = int(digits)
    if seq < 1:
        raise InvalidInputError(f"发文字号的序号须从 1 起：{text!r}", field="number")
    if seq > MAX_SEQ:
        raise InvalidInputError(f"发文字号的序号过大：{text!r}", field="number")
    return seq
