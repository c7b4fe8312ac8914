"""The statutory holidays of a year, from the law, for a year whose schedule nobody published.

《全国年节及纪念日放假办法》 as amended by 国务院令第795号 (in force since 2025-01-01),
Art. 2 gives every citizen 13 days: 元旦 (1 January), 春节 (农历除夕 and 正月初一 to 初三),
清明节 (the day of the 清明 solar term), 劳动节 (1 and 2 May), 端午节 (五月初五),
中秋节 (八月十五) and 国庆节 (1 to 3 October).

Only these days. Art. 6's 补假 (a holiday on a weekend is made up on a working day) and
Art. 7's 调休 are placed by the State Council's yearly schedule, which the law does not
fix: neither is guessed here, so a date counted on these rules stays provisional until
that schedule is known (core.calendar).

Pure: the lunar dates and the solar term come from lunar-python (6tail's 寿星 algorithms:
maintained, pure Python, computed rather than tabled, and the one library here that gives
both lunar dates and the 24 solar terms).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar

#: years the current text governs: from its entry into force to the end of the century
#: (beyond it new moons close to midnight make computed lunar dates uncertain; such a
#: year is counted on weekends alone, as before)
FIRST_YEAR, LAST_YEAR = 2025, 2100


def _solar(lunar: Lunar) -> date:
    s = lunar.getSolar()
    return date(int(s.getYear()), int(s.getMonth()), int(s.getDay()))


@cache
def statutory_holidays(year: int) -> frozenset[date]:
    """Art. 2's days off in `year` (empty outside FIRST_YEAR–LAST_YEAR); 12 when 中秋 falls
    on one of 国庆's days (as in 2020), the extra day being the State Council's to place."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return frozenset()
    new_year = Lunar.fromYmd(year, 1, 1)
    spring = _solar(new_year)
    qingming = new_year.getJieQiTable()["清明"]
    days = {
        date(year, 1, 1),
        spring - timedelta(days=1),  # 除夕: the last day of the old year, 29 or 30 腊月
        *(spring + timedelta(days=i) for i in range(3)),
        date(int(qingming.getYear()), int(qingming.getMonth()), int(qingming.getDay())),
        date(year, 5, 1),
        date(year, 5, 2),
        _solar(Lunar.fromYmd(year, 5, 5)),
        _solar(Lunar.fromYmd(year, 8, 15)),
        *(date(year, 10, d) for d in (1, 2, 3)),
    }
    return frozenset(days)
