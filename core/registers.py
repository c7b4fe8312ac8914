"""Register numbers (DOMAIN §4): per kind, per local year, from 0001, gap-free."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.errors import InvalidInputError
from core.model import Kind

#: the seed's four digits; past this the number widens (and staff are warned)
WIDTH_LIMIT = 9999
#: years a register can be for: 0, 202 or 9999 are typos that would open a register
#: (or take a 发文字号) for that year
FIRST_YEAR, LAST_YEAR = 2000, 2099


def check_year(year: int, what: str = "年份") -> int:
    """`year` when a register can be for it; InvalidInputError naming `what` otherwise."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInputError(f"{what}应在 {FIRST_YEAR}–{LAST_YEAR} 年之间，收到 {year}")
    return year


def local_year_month(at: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """The office's local (year, month) of an aware datetime."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    local = at.astimezone(tz)
    return local.year, local.month


def format_number(fmt: str, year: int, seq: int) -> str:
    """`办{year}-{seq:04d}` → 办2026-0001; widens naturally past 9999."""
    return fmt.format(year=year, seq=seq)


@dataclass(frozen=True)
class NumberRef:
    kind: Kind
    year: int
    seq: int


def number_pattern(fmt: str) -> re.Pattern[str]:
    """A regex that parses numbers of the given format back into year and seq."""
    out = ""
    pos = 0
    for m in re.finditer(r"\{(year|seq)(?::[^}]*)?\}", fmt):
        out += re.escape(fmt[pos : m.start()])
        out += r"(?P<year>\d{4})" if m.group(1) == "year" else r"(?P<seq>\d+)"
        pos = m.end()
    out += re.escape(fmt[pos:])
    return re.compile(f"^{out}$")


def parse_number(text: str, formats: dict[str, str]) -> NumberRef | None:
    """Parse a register number typed by staff (full-width digits and spaces tolerated)."""
    cleaned = normalize_width(text).replace(" ", "")
    for kind_name, fmt in formats.items():
        m = number_pattern(fmt).match(cleaned)
        if m:
            return NumberRef(Kind(kind_name), int(m.group("year")), int(m.group("seq")))
    return None


_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20


def normalize_width(text: str) -> str:
    """Full-width ASCII (ＡＢＣ１２３－) to half-width."""
    return text.translate(_FULLWIDTH)
