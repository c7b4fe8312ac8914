"""Days as the office counts them: today in its zone, and a day staff typed checked
against it."""

from __future__ import annotations

from datetime import date

from core import reminder_plan as plan
from core.errors import InvalidInputError
from core.services.context import Context

#: who a change made from the command line is recorded as
ACTOR = "staff"


def today_of(ctx: Context) -> date:
    return plan.local_date(ctx.settings, ctx.clock())


def not_future(day: date, today: date, what: str) -> None:
    if day > today:
        raise InvalidInputError(f"{what} {day.isoformat()} 晚于今天（{today.isoformat()}）")
