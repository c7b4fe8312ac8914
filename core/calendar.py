"""Working days (DOMAIN §6): the State Council schedule with 调休, plus years added in config.

Pure: no I/O, no clock. The `chinesecalendar` package knows 2004–2026 and raises
`NotImplementedError` outside; that never escapes from here. A configured year
(`[calendar.2027] holidays/workdays`) extends or corrects what the package knows: a date
it lists as holiday is a holiday, as workday a workday, anything else follows the
package (or, for a year the package does not know, the plain Monday–Friday week).

A date in a year nobody knows is counted on weekends and the law's statutory holidays
(core.holidays: no 补假 or 调休 guessed) and every result touched by such a date is
flagged **provisional** (暂定), never refused. Legal counting never uses
the package's `find_workday`, which starts from the next workday when the start is a
holiday; here the n-th working day after the start is counted day by day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import chinese_calendar

from core.errors import ConfigError
from core.holidays import statutory_holidays

#: longest run of consecutive non-working days we tolerate before suspecting bad config
_MAX_CLOSED_RUN = 60


class YearSchedule(Protocol):
    """What a configured year gives: ISO dates of holidays and of make-up workdays."""

    @property
    def holidays(self) -> list[str]: ...

    @property
    def workdays(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class WorkDate:
    """A computed working day; `provisional` when an unknown year was counted on the law's
    holidays without the State Council's schedule."""

    date: date
    provisional: bool = False

    def label(self) -> str:
        """`2026-03-02`, or `2027-01-05（暂定）` for a provisional date."""
        text = self.date.isoformat()
        return f"{text}（暂定）" if self.provisional else text


def _package_is_workday(day: date) -> bool | None:
    """The package's answer, or None when it has no data for the year."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def _package_knows(year: int) -> bool:
    return _package_is_workday(date(year, 1, 1)) is not None


@dataclass(frozen=True)
class _Overrides:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


def _parse_days(year: int, key: str, values: list[str]) -> frozenset[date]:
    out: set[date] = set()
    for text in values:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ConfigError(
                "配置", f"calendar.{year}.{key}", f"日期格式不对：{text!r}（应为 YYYY-MM-DD）"
            ) from None
        if day.year != year:
            raise ConfigError("配置", f"calendar.{year}.{key}", f"日期 {text} 不属于 {year} 年")
        out.add(day)
    return frozenset(out)


def _weekdays(first: date, last: date) -> int:
    """Mondays to Fridays from `first` to `last`, both included."""
    days = (last - first).days + 1
    weeks, rest = divmod(days, 7)
    start = first.weekday()
    return weeks * 5 + sum((start + i) % 7 < 5 for i in range(rest))


@dataclass
class WorkCalendar:
    """Working days from the package and the configured years; answers never raise."""

    overrides: Mapping[int, _Overrides] = field(default_factory=dict)
    _known: dict[int, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, years: Mapping[str, YearSchedule] | None = None) -> WorkCalendar:
        """Build from `settings.calendar` ({"2027": CalendarYear(holidays=[…], workdays=[…])})."""
        overrides: dict[int, _Overrides] = {}
        for key, sched in (years or {}).items():
            if not (key.isdecimal() and len(key) == 4):
                raise ConfigError("配置", f"calendar.{key}", "年份须为四位数字")
            year = int(key)
            holidays = _parse_days(year, "holidays", list(sched.holidays))
            workdays = _parse_days(year, "workdays", list(sched.workdays))
            both = sorted(holidays & workdays)
            if both:
                raise ConfigError(
                    "配置", f"calendar.{year}",
                    f"{both[0].isoformat()} 同时列为节假日和调休上班日",
                )
            overrides[year] = _Overrides(holidays, workdays)
        return cls(overrides)

    # ------------------------------------------------------------ single days
    def knows(self, year: int) -> bool:
        """True when the year's schedule is known (package data or configured)."""
        if year in self.overrides:
            return True
        if year not in self._known:
            self._known[year] = _package_knows(year)
        return self._known[year]

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """(is a working day, provisional): provisional when the year is unknown."""
        extra = self.overrides.get(day.year)
        if extra is not None:
            if day in extra.holidays:
                return False, False
            if day in extra.workdays:
                return True, False
        if self.knows(day.year):
            answer = _package_is_workday(day)
            if answer is not None:
                return answer, False
            # a configured year the package does not know: the plain week
            return day.weekday() < 5, False
        return day.weekday() < 5 and day not in statutory_holidays(day.year), True

    # ------------------------------------------------------------ counting
    def add_workdays(self, start: date, n: int) -> WorkDate:
        """The n-th working day after `start` (the start day itself is never counted).

        A start on a holiday or weekend counts the same way: the first working day after
        it is day 1. n must be at least 1.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return self._walk(start, n, step=1)

    def workdays_before(self, end: date, n: int) -> WorkDate:
        """The n-th working day before `end` (`end` not counted); n ≥ 1."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return self._walk(end, n, step=-1)

    def _walk(self, origin: date, n: int, *, step: int) -> WorkDate:
        day = origin
        provisional = False
        counted = 0
        closed_run = 0
        while counted < n:
            day += timedelta(days=step)
            working, unsure = self.is_workday(day)
            provisional = provisional or unsure
            if working:
                counted += 1
                closed_run = 0
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_RUN:
                    raise ConfigError(
                        "配置", f"calendar.{day.year}",
                        f"自 {origin.isoformat()} 起连续 {_MAX_CLOSED_RUN} 天以上没有工作日，"
                        "请检查节假日配置",
                    )
        return WorkDate(day, provisional)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days d with start < d ≤ end; negative (counted the other way) when end < start.

        `workdays_between(s, add_workdays(s, n).date) == n`.
        """
        if end == start:
            return 0
        sign = 1 if end > start else -1
        lo, hi = (start, end) if sign > 0 else (end, start)
        count = 0
        first = lo + timedelta(days=1)
        for year in range(first.year, hi.year + 1):
            a, b = max(first, date(year, 1, 1)), min(hi, date(year, 12, 31))
            if self.knows(year):
                count += sum(self.is_workday(a + timedelta(days=i))[0]
                             for i in range((b - a).days + 1))
            else:  # weekdays less the law's holidays: counted, not walked (far stays cheap)
                count += _weekdays(a, b) - sum(
                    a <= h <= b and h.weekday() < 5 for h in statutory_holidays(year))
        return sign * count

    def span_provisional(self, start: date, end: date) -> bool:
        """True when any day in (start, end] (or (end, start]) lies in an unknown year."""
        lo, hi = sorted((start, end))
        if lo == hi:
            return False
        first = lo + timedelta(days=1)
        return any(not self.knows(y) for y in range(first.year, hi.year + 1))

    def missing_next_year(self, today: date) -> bool:
        """In December, True when next year's schedule is not known yet (warn staff)."""
        return today.month == 12 and not self.knows(today.year + 1)
