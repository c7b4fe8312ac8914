"""Reminders other than 特急 reach people only in working hours on working days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from core import reminder_plan as plan
from core.calendar import WorkCalendar, WorkDate
from core.config import Settings
from core.services import reminders
from core.services.context import Context
from core.storage import reminders as repo
from core.working_hours import next_open, parse_periods
from tests.conftest import FrozenClock

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar.from_config({})
PERIODS = parse_periods(["08:30-12:00", "14:30-18:00"])


def local(y: int, m: int, d: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


@pytest.mark.parametrize(("at", "opens"), [
    (local(2026, 3, 2, 5, 1), local(2026, 3, 2, 8, 30)),       # Monday before work
    (local(2026, 3, 2, 10, 0), local(2026, 3, 2, 10, 0)),      # in the morning period
    (local(2026, 3, 2, 12, 30), local(2026, 3, 2, 14, 30)),    # lunch
    (local(2026, 3, 2, 18, 0), local(2026, 3, 3, 8, 30)),      # the end is closed
    (local(2026, 3, 6, 19, 0), local(2026, 3, 9, 8, 30)),      # Friday night → Monday
    (local(2026, 3, 7, 10, 0), local(2026, 3, 9, 8, 30)),      # Saturday
    (local(2026, 9, 30, 19, 0), local(2026, 10, 8, 8, 30)),    # 国庆 holidays
    (local(2026, 10, 9, 18, 30), local(2026, 10, 10, 8, 30)),  # a make-up Saturday works
])
def test_next_open(at: datetime, opens: datetime) -> None:
    assert next_open(at, CAL, SH, PERIODS) == opens


def test_periods_are_checked() -> None:
    for bad in (["8:30"], ["12:00-08:30"], ["08:30-12:00", "11:00-13:00"], ["25:00-26:00"], []):
        with pytest.raises(ValueError, match="办公时间"):
            parse_periods(bad)


def _plan(settings: Settings, now: datetime, *, urgent: bool) -> list[plan.Wanted]:
    # due Friday 3/6, planned at 05:01 on Monday: the due day's notice is past (late), the
    # "overdue" one is at 09:00 today
    return plan.plan_for_due(
        settings, CAL, subject="item:1", due=WorkDate(date(2026, 3, 6), False),
        targets=lambda _: ["registry"], text=lambda pd, day: f"{pd.kind} {day}", now=now,
        urgent=urgent)


def test_a_reminder_planned_late_waits_for_the_working_morning(settings: Settings) -> None:
    now = local(2026, 3, 9, 5, 1).astimezone(UTC)
    late = {w.kind: w.due_at for w in _plan(settings, now, urgent=False) if w.insert}
    assert late == {"due": local(2026, 3, 9, 8, 30), "overdue": local(2026, 3, 9, 9, 0)}
    urgent = [w for w in _plan(settings, now, urgent=True) if w.insert]
    assert {w.kind: w.due_at for w in urgent} == {"due": now, "overdue": local(2026, 3, 9, 9, 0)}
    assert all(w.urgent for w in urgent)


async def _add(ctx: Context, key: str, due_at: datetime, *, urgent: bool) -> None:
    async with ctx.db.unit_of_work() as uow:
        await repo.replan(uow, f"test:{key}", [plan.Wanted(
            key, due_at, "registry", "overdue", f"催办 {key}", urgent=urgent)], ctx.clock())
        await uow.commit()


async def _sent(ctx: Context) -> list[tuple[str, bool]]:
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT payload FROM outbox WHERE event LIKE 'reminder.%'"
                                " ORDER BY id")
    seen: dict[str, bool] = {}
    for row in rows:
        p = json.loads(row["payload"])
        seen[p["text"].split("\n")[0]] = p["late"]
    return sorted(seen.items())


async def test_sweeper_holds_reminders_outside_working_hours(
    ctx: Context, clock: FrozenClock
) -> None:
    """Due Friday 09:00 while jiyao was down, found on Saturday at 05:01: it waits for
    Monday morning (补发, it missed Friday); one due Saturday night waits without being
    late; a 特急 one goes at once, whatever the hour."""
    clock.now = local(2026, 3, 6, 8, 0).astimezone(UTC)
    await _add(ctx, "friday", local(2026, 3, 6, 9, 0).astimezone(UTC), urgent=False)
    await _add(ctx, "night", local(2026, 3, 7, 22, 0).astimezone(UTC), urgent=False)
    await _add(ctx, "urgent", local(2026, 3, 7, 5, 0).astimezone(UTC), urgent=True)

    for at in (local(2026, 3, 7, 5, 1), local(2026, 3, 7, 10, 0), local(2026, 3, 8, 23, 0),
               local(2026, 3, 9, 8, 29)):
        await reminders.sweep(ctx, at.astimezone(UTC))
        # the urgent one went on Saturday at 05:01, a minute after it fell due: not late
        assert await _sent(ctx) == [("催办 urgent", False)]

    await reminders.sweep(ctx, local(2026, 3, 9, 8, 30, 10).astimezone(UTC))
    assert await _sent(ctx) == [("【补发】催办 friday", True), ("催办 night", False),
                                ("催办 urgent", False)]
