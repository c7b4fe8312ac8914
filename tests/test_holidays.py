"""The law's holidays for a year without a State Council schedule (《全国年节及纪念日放假办法》
as amended in 2024, in force 2025): checked against the package's published schedules, by
hand for 2027, and as properties of provisional deadlines up to the law's last year."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import WorkCalendar
from core.holidays import FIRST_YEAR, LAST_YEAR, statutory_holidays

CAL = WorkCalendar.from_config()

#: the package's holiday name for each day of Art. 2 (除夕 is part of 春节)
NAMES = {"New Year's Day": 1, "Spring Festival": 4, "Tomb-sweeping Day": 1, "Labour Day": 2,
         "Dragon Boat Festival": 1, "Mid-autumn Festival": 1, "National Day": 3}


def test_the_law_s_days_are_the_package_s_holidays_in_2025_and_2026() -> None:
    """Every computed day is a holiday in the State Council's published schedule, under the
    right name, and each festival has its number of days."""
    for year in (2025, 2026):
        days = statutory_holidays(year)
        names: dict[str, int] = {}
        for day in days:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            assert on_holiday, day
            names[str(name)] = names.get(str(name), 0) + 1
        assert names == NAMES, year


def test_2027_by_hand() -> None:
    """2027: 春节 is 2/6 (除夕 2/5), 清明 4/5, 端午 6/9, 中秋 9/15."""
    assert statutory_holidays(2027) == {
        date(2027, 1, 1),
        date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8),
        date(2027, 4, 5), date(2027, 5, 1), date(2027, 5, 2), date(2027, 6, 9),
        date(2027, 9, 15), date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3),
    }


def test_outside_the_law_s_years_nothing_is_computed() -> None:
    """Before the amended text and beyond the century the weekend rule alone applies."""
    assert statutory_holidays(FIRST_YEAR - 1) == frozenset()
    assert statutory_holidays(LAST_YEAR + 1) == frozenset()
    assert len(statutory_holidays(LAST_YEAR)) == 13



@settings(max_examples=80, deadline=None)
@given(year=st.integers(min_value=FIRST_YEAR, max_value=LAST_YEAR))
def test_every_year_has_the_law_s_shape(year: int) -> None:
    """13 distinct days (12 when 中秋 is one of 国庆's), 春节 four consecutive days from 1/20
    to 2/21, 清明 4/4–4/6, 端午 5/26–6/26, 中秋 9/7–10/8."""
    days = sorted(statutory_holidays(year))
    autumn = [d for d in days if date(year, 9, 7) <= d <= date(year, 10, 8)]
    national = {date(year, 10, d) for d in (1, 2, 3)}
    assert national <= set(autumn)
    assert len(autumn) in (3, 4)  # 中秋 and 国庆's three days, or 中秋 among them
    assert len(days) == 9 + len(autumn)
    assert all(d.year == year for d in days)
    spring = [d for d in days if d.month in (1, 2) and d != date(year, 1, 1)]
    assert len(spring) == 4
    assert spring == [spring[0] + timedelta(days=i) for i in range(4)]
    assert date(year, 1, 20) <= spring[0]
    assert spring[-1] <= date(year, 2, 21)
    assert sum(date(year, 4, 4) <= d <= date(year, 4, 6) for d in days) == 1
    assert sum(date(year, 5, 26) <= d <= date(year, 6, 26) for d in days) == 1


@settings(max_examples=300, deadline=None)
@given(
    received=st.dates(min_value=date(2026, 12, 1), max_value=date(LAST_YEAR, 12, 31)),
    n=st.integers(min_value=1, max_value=40),
)
def test_a_provisional_deadline_is_a_working_day_by_the_law_s_rules(received: date,
                                                                    n: int) -> None:
    """Never on a weekend or a statutory holiday, always after receipt, exactly n counted;
    provisional whenever it runs into a year without a schedule."""
    due = CAL.add_workdays(received, n)
    assert due.date > received
    if CAL.knows(due.date.year):
        return
    assert due.provisional
    assert due.date.weekday() < 5
    assert due.date not in statutory_holidays(due.date.year)
    assert CAL.workdays_between(received, due.date) == n
    walked = [received + timedelta(days=i) for i in range(1, (due.date - received).days + 1)]
    assert sum(CAL.is_workday(d)[0] for d in walked) == n
