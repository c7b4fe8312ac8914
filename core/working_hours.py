"""Working hours (办公时间): when a reminder that can wait may reach someone. Pure: `at`
and the calendar are passed in.

Reminders and escalations other than 特急 go out only inside a period of
`[schedule] working_hours` on a working day of the office calendar; one that falls due
outside (at night, at a weekend, on a holiday, or while the system was down) goes out
when the next period opens — the first working morning, not 05:01."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config parses the periods; it must not pull in the calendar package
    from core.calendar import WorkCalendar

#: a stretch of working days without a working period this long means a broken calendar
_MAX_DAYS = 400


@dataclass(frozen=True)
class Period:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Period:
        """08:30-12:00 (the end after the start, both on one day)."""
        left, sep, right = text.replace("–", "-").partition("-")
        if not sep:
            raise ValueError(f"办公时间 {text!r} 应写作 08:30-12:00")
        start, end = _hhmm(left, text), _hhmm(right, text)
        if end <= start:
            raise ValueError(f"办公时间 {text!r} 的结束时间应晚于开始时间")
        return cls(start, end)


def _hhmm(text: str, whole: str) -> time:
    hh, sep, mm = text.strip().partition(":")
    if not (sep and hh.isdecimal() and mm.isdecimal() and len(mm) == 2):
        raise ValueError(f"办公时间 {whole!r} 应写作 08:30-12:00")
    try:
        return time(int(hh), int(mm))
    except ValueError:
        raise ValueError(f"办公时间 {whole!r} 中的时刻不存在") from None


def parse_periods(texts: Sequence[str]) -> tuple[Period, ...]:
    """The configured periods, in order, not overlapping."""
    periods = tuple(sorted((Period.parse(t) for t in texts), key=lambda p: p.start))
    if not periods:
        raise ValueError("至少需要一段办公时间")
    for a, b in itertools.pairwise(periods):
        if b.start < a.end:
            raise ValueError("办公时间各段不能重叠")
    return periods


def next_open(
    at: datetime, cal: WorkCalendar, tz: tzinfo, periods: Sequence[Period]
) -> datetime:
    """`at` itself when it is in working hours, else the start of the next working period
    (in UTC)."""
    local = at.astimezone(tz)
    day = local.date()
    for _ in range(_MAX_DAYS):
        if cal.is_workday(day)[0]:
            for p in periods:
                start = datetime.combine(day, p.start, tzinfo=tz)
                end = datetime.combine(day, p.end, tzinfo=tz)
                if local < start:
                    return start.astimezone(UTC)
                if local < end:
                    return at
        day += timedelta(days=1)
    raise ValueError("办公日历中找不到下一个工作日")  # pragma: no cover - calendar checks it
