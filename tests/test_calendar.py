"""Working days on the real State Council schedules, config years, provisional dates."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import WorkCalendar, WorkDate
from core.config import CalendarYear, Settings
from core.errors import ConfigError
from core.holidays import LAST_YEAR, statutory_holidays
from core.reminder_plan import work_calendar

CAL = WorkCalendar.from_config()

SPRING_2026_HOLIDAYS = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]  # 2/15–2/23
SPRING_2026_MAKEUP = [date(2026, 2, 14), date(2026, 2, 28)]  # both Saturdays


def test_package_data_for_spring_festival_2026() -> None:
    """The package itself says 2/15–2/23 are holidays and Saturdays 2/14, 2/28 are workdays."""
    assert all(not chinese_calendar.is_workday(d) for d in SPRING_2026_HOLIDAYS)
    assert all(chinese_calendar.is_workday(d) for d in SPRING_2026_MAKEUP)
    assert all(d.weekday() == 5 for d in SPRING_2026_MAKEUP)
    assert chinese_calendar.is_workday(date(2026, 2, 24))


def test_count_across_spring_festival_2026() -> None:
    """Counting crosses the holiday and counts both make-up Saturdays (hand-counted)."""
    assert CAL.add_workdays(date(2026, 2, 13), 1) == WorkDate(date(2026, 2, 14))
    assert CAL.add_workdays(date(2026, 2, 13), 2) == WorkDate(date(2026, 2, 24))
    # 2/11 2/12 2/13 2/14* | 2/24 2/25 2/26 2/27 2/28* | 3/2 … 3/6 | 3/9 … 3/13 | 3/16
    assert CAL.add_workdays(date(2026, 2, 10), 20) == WorkDate(date(2026, 3, 16))
    assert CAL.workdays_between(date(2026, 2, 10), date(2026, 3, 16)) == 20


def test_count_across_national_day_2026() -> None:
    """国庆 2026: 10/1–10/7 off, Saturday 10/10 worked."""
    assert CAL.add_workdays(date(2026, 9, 29), 3) == WorkDate(date(2026, 10, 9))
    assert CAL.add_workdays(date(2026, 9, 30), 3) == WorkDate(date(2026, 10, 10))
    assert CAL.is_workday(date(2026, 10, 10)) == (True, False)
    assert CAL.is_workday(date(2026, 10, 5)) == (False, False)


def test_start_on_a_holiday_counts_from_the_next_day() -> None:
    """A start on a holiday: the first working day after it is day 1 (not find_workday's rule)."""
    assert CAL.add_workdays(date(2026, 10, 3), 1) == WorkDate(date(2026, 10, 8))
    assert CAL.add_workdays(date(2026, 10, 3), 1).date != chinese_calendar.find_workday(
        1, date(2026, 10, 3)
    )
    assert CAL.add_workdays(date(2026, 2, 21), 2) == WorkDate(date(2026, 2, 25))


def test_run_into_an_unknown_year_is_provisional() -> None:
    """From 2026-12-25 ten working days run into 2027: its 元旦 is off by law, all 暂定."""
    if CAL.knows(2027):
        pytest.skip("this chinesecalendar release already knows 2027")
    result = CAL.add_workdays(date(2026, 12, 25), 10)
    # 12/28 12/29 12/30 12/31 | 1/1 (元旦, a Friday) | 1/4 … 1/8 | 1/11
    assert result == WorkDate(date(2027, 1, 11), provisional=True)
    assert result.label() == "2027-01-11（暂定）"
    assert CAL.add_workdays(date(2026, 12, 31), 1) == WorkDate(date(2027, 1, 4), provisional=True)
    assert CAL.add_workdays(date(2026, 12, 25), 4) == WorkDate(date(2026, 12, 31))


def test_unknown_year_keeps_the_law_s_holidays_and_invents_no_makeup_day() -> None:
    """2027 春节 (除夕 Fri 2/5 to 初三 Mon 2/8), 清明 Mon 4/5, 端午 Wed 6/9, 中秋 Wed 9/15 and
    国庆 Fri 10/1 are off; no Saturday is turned into a make-up workday."""
    if CAL.knows(2027):
        pytest.skip("this chinesecalendar release already knows 2027")
    assert CAL.add_workdays(date(2027, 2, 4), 1) == WorkDate(date(2027, 2, 9), provisional=True)
    for day in (date(2027, 2, 5), date(2027, 2, 8), date(2027, 4, 5), date(2027, 6, 9),
                date(2027, 9, 15), date(2027, 10, 1)):
        assert CAL.is_workday(day) == (False, True), day
    assert CAL.is_workday(date(2027, 10, 4)) == (True, True)  # no 补假 placed
    assert not any(CAL.is_workday(date(2027, 1, 2) + timedelta(weeks=w))[0] for w in range(52))
    # after 2/4: 2/9–2/12 (4) | 2/15–2/19 | 2/22–2/26 | 3/1–3/5 (5 each) = 19 | 3/8
    assert CAL.workdays_between(date(2027, 2, 4), date(2027, 3, 5)) == 19
    assert CAL.workdays_between(date(2027, 2, 4), date(2027, 3, 8)) == 20


def test_far_year_never_raises() -> None:
    """Outside every schedule nothing raises: provisional; outside the law's years weekends only."""
    assert CAL.is_workday(date(2099, 1, 1)) == (False, True)  # 元旦
    assert CAL.is_workday(date(2099, 1, 2)) == (True, True)
    assert CAL.is_workday(date(2101, 1, 3)) == (True, True)  # beyond LAST_YEAR: a Monday
    assert CAL.is_workday(date(1999, 1, 2)) == (False, True)
    assert CAL.add_workdays(date(2099, 1, 3), 1) == WorkDate(date(2099, 1, 5), provisional=True)


def test_config_year_makes_2027_known() -> None:
    """A configured 2027 is honoured (holidays off, make-up workdays on) and not provisional."""
    cal = WorkCalendar.from_config({
        "2027": CalendarYear(holidays=["2027-01-01", "2027-02-08", "2027-02-09"],
                             workdays=["2027-02-06"]),
    })
    assert cal.add_workdays(date(2026, 12, 25), 10) == WorkDate(date(2027, 1, 11))
    assert cal.is_workday(date(2027, 2, 6)) == (True, False)
    assert cal.is_workday(date(2027, 2, 8)) == (False, False)
    assert cal.add_workdays(date(2027, 2, 5), 1) == WorkDate(date(2027, 2, 6))
    assert cal.add_workdays(date(2027, 2, 5), 2) == WorkDate(date(2027, 2, 10))
    assert not cal.missing_next_year(date(2026, 12, 1))


def test_config_corrects_a_package_year(settings: Settings) -> None:
    """A holiday added in [calendar.2026] through Settings is skipped by the count."""
    fixed = settings.model_copy(
        update={"calendar": {"2026": CalendarYear(holidays=["2026-03-02"])}}
    )
    cal = work_calendar(fixed)
    assert cal.add_workdays(date(2026, 2, 27), 1) == WorkDate(date(2026, 2, 28))
    assert cal.add_workdays(date(2026, 2, 27), 2) == WorkDate(date(2026, 3, 3))
    assert work_calendar(settings).add_workdays(date(2026, 2, 27), 2) == WorkDate(date(2026, 3, 2))


def test_bad_config_is_a_config_error() -> None:
    """A date in the wrong year or listed as both holiday and workday names the key."""
    with pytest.raises(ConfigError, match=r"calendar\.2027\.holidays"):
        WorkCalendar.from_config({"2027": CalendarYear(holidays=["2028-01-01"])})
    with pytest.raises(ConfigError, match="同时"):
        WorkCalendar.from_config({"2027": CalendarYear(holidays=["2027-02-06"],
                                                       workdays=["2027-02-06"])})


def test_december_warning_when_next_year_is_missing() -> None:
    """In December the calendar reports a missing next year; before December it does not."""
    if CAL.knows(2027):
        pytest.skip("this chinesecalendar release already knows 2027")
    assert CAL.missing_next_year(date(2026, 12, 1))
    assert not CAL.missing_next_year(date(2026, 11, 30))
    assert not CAL.missing_next_year(date(2025, 12, 1))


def test_workdays_before_is_the_inverse() -> None:
    """Five working days before 2026-03-30 is 2026-03-23; before 2/24 (after 春节) is 2/13."""
    assert CAL.workdays_before(date(2026, 3, 30), 5) == WorkDate(date(2026, 3, 23))
    assert CAL.workdays_before(date(2026, 2, 24), 1) == WorkDate(date(2026, 2, 14))
    assert CAL.workdays_before(date(2026, 2, 24), 2) == WorkDate(date(2026, 2, 13))


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2004, 1, 1), max_value=date(2030, 12, 31)),
    n=st.integers(min_value=1, max_value=60),
)
def test_result_is_a_working_day_strictly_after_start(start: date, n: int) -> None:
    """add_workdays always lands on a working day after the start, exactly n counted."""
    result = CAL.add_workdays(start, n)
    assert result.date > start
    assert CAL.is_workday(result.date)[0]
    assert CAL.workdays_between(start, result.date) == n
    assert result.provisional == CAL.span_provisional(start, result.date)
    assert CAL.workdays_before(result.date, n).date <= start


@settings(max_examples=150, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 6, 1), max_value=date(2031, 12, 31)),
    end=st.dates(min_value=date(2024, 6, 1), max_value=date(2031, 12, 31)),
)
def test_workdays_between_counts_as_a_day_by_day_walk(start: date, end: date) -> None:
    """Counting by years (unknown ones by weekday arithmetic) equals checking every day."""
    cal = WorkCalendar.from_config(
        {"2028": CalendarYear(holidays=["2028-01-03"], workdays=["2028-01-08"])})
    lo, hi = sorted((start, end))
    walked = sum(cal.is_workday(lo + timedelta(days=i))[0] for i in range(1, (hi - lo).days + 1))
    assert cal.workdays_between(start, end) == (walked if end >= start else -walked)


def test_workdays_between_reaches_far_dates() -> None:
    """Ten thousand years of unknown calendar are counted on the weekday rule less the law's
    holidays (up to LAST_YEAR), not refused."""
    far = CAL.workdays_between(date(2031, 1, 1), date(9999, 12, 31))
    off = sum(d.weekday() < 5 for y in range(2031, LAST_YEAR + 1) for d in statutory_holidays(y))
    assert 600 < off < 70 * 13
    weekdays = (date(9999, 12, 31) - date(2031, 1, 1)).days * 5 / 7
    assert far == pytest.approx(weekdays - off, abs=5)
