"""Times as staff read them: in the office's zone (`[office] timezone`), never UTC.

Times are stored in UTC (core.clock); every text shown to staff — CLI, chat, exports,
slips, log lines — goes through one of these, so a correction made at 01:00 in Shanghai
is dated that day and not the day before."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from core.clock import parse_iso


def local(at: datetime, tz: tzinfo) -> datetime:
    """`at` in the office's zone (a naive datetime is refused, as everywhere)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(tz)


def local_date(at: datetime, tz: tzinfo) -> date:
    """The office's date at `at`."""
    return local(at, tz).date()


def minute(at: datetime, tz: tzinfo) -> str:
    """2026-03-02 17:05 (CLI tables, exports)."""
    return f"{local(at, tz):%Y-%m-%d %H:%M}"


def stored_minute(text: str | None, tz: tzinfo) -> str | None:
    """A stored ISO time as `minute` shows it (None and "" stay as they are)."""
    return minute(parse_iso(text), tz) if text else text


def stored_day(text: str | None, tz: tzinfo) -> str | None:
    """A stored ISO time as the office's date, 2026-03-02."""
    return local_date(parse_iso(text), tz).isoformat() if text else text


def month_day_zh(at: datetime, tz: tzinfo) -> str:
    """3月2日 17:05 (chat notices)."""
    lt = local(at, tz)
    return f"{lt.month}月{lt.day}日 {lt:%H:%M}"


def full_zh(at: datetime, tz: tzinfo) -> str:
    """2026年3月2日 17:05 (pushes, the 公文处理单: it is filed for years)."""
    lt = local(at, tz)
    return f"{lt.year}年{lt.month}月{lt.day}日 {lt:%H:%M}"


def offset_text(at: datetime, tz: tzinfo) -> str:
    """UTC+08:00: the zone's offset at `at`."""
    off = local(at, tz).isoformat()[-6:]
    return f"UTC{off}"


def log_stamp(at: datetime, tz: tzinfo) -> str:
    """2026-03-02 17:05:03.123+08:00: a log line's time, local with its offset."""
    return local(at, tz).isoformat(sep=" ", timespec="milliseconds")
