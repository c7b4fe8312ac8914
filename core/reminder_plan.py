"""Planning reminder rows for a due day (DOMAIN §6): pure, no I/O, `now` passed in.

A subject (a 办件, a 主动公开 cycle, a 依申请公开 request) with a due day gets reminders n
working days before it, on it and the working day after it, each at the digest time of
that day. The services store what `plan_for_due` wants (core.storage.reminders.replan).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from core import localtime, working_hours
from core.calendar import WorkCalendar, WorkDate
from core.config import Settings

#: reminder targets: "registry", "section:NAME", "leader:NAME", "chat:ID"
REGISTRY = "registry"


@dataclass(frozen=True)
class PlannedDay:
    """One reminder day for a due date: n working days before it, on it, or after it."""

    kind: str  # "before" | "due" | "overdue"
    offset: int  # working days before the due day (0 on it, -1 overdue)
    on: date


@dataclass(frozen=True)
class Wanted:
    """A reminder planning wants to exist; `insert` False keeps an existing row only."""

    dedup: str
    due_at: datetime
    target: str
    kind: str
    text: str
    insert: bool = True
    #: 特急/特提: sent at any hour (others wait for working hours)
    urgent: bool = False


#: the text of a reminder for a planned day, as it reads on a given day
TextFn = Callable[[PlannedDay, date], str]


def work_calendar(settings: Settings) -> WorkCalendar:
    """The working-day calendar: the package's schedule plus `[calendar]` from config."""
    return WorkCalendar.from_config(settings.calendar)


def local_date(settings: Settings, at: datetime) -> date:
    """The office's date at `at`."""
    return localtime.local_date(at, settings.tz)


def work_date(text: str | None, provisional: int | bool) -> WorkDate | None:
    """A stored due day (ISO text and its provisional flag) as a WorkDate."""
    return WorkDate(date.fromisoformat(text), bool(provisional)) if text else None


def remind_at(settings: Settings, day: date) -> datetime:
    """When a reminder for `day` is due: the digest time (local) on that day, in UTC."""
    hh, _, mm = settings.schedule.digest_time.partition(":")
    local = datetime.combine(day, time(int(hh), int(mm or 0)), tzinfo=settings.tz)
    return local.astimezone(UTC)


def reminder_days(due: date, before: Sequence[int], cal: WorkCalendar) -> list[PlannedDay]:
    """Reminder days: each configured n working days before, the due day, the day after."""
    days = [
        PlannedDay("before", n, cal.workdays_before(due, n).date)
        for n in sorted({n for n in before if n >= 1}, reverse=True)
    ]
    days.append(PlannedDay("due", 0, due))
    days.append(PlannedDay("overdue", -1, cal.add_workdays(due, 1).date))
    return days


def escalation_days(due: date, after: Sequence[int], cal: WorkCalendar) -> list[PlannedDay]:
    """Escalation days: n working days after the due day (n >= 2; day 1 is "overdue")."""
    return [PlannedDay("escalate", -n, cal.add_workdays(due, n).date)
            for n in sorted({n for n in after if n >= 2})]


def when_text(due: WorkDate, day: date, cal: WorkCalendar) -> str:
    """How the deadline stands on `day`, in Chinese."""
    if day < due.date:
        n = cal.workdays_between(day, due.date)
        return f"期限 {due.label()}，还有 {n} 个工作日"
    if day == due.date:
        return f"今天（{due.label()}）是最后期限"
    n = cal.workdays_between(due.date, day)
    return f"期限 {due.label()} 已过 {n} 个工作日"


def plan_for_due(
    settings: Settings,
    cal: WorkCalendar,
    *,
    subject: str,
    due: WorkDate,
    targets: Callable[[PlannedDay], Sequence[str]],
    text: TextFn,
    now: datetime,
    escalate: Sequence[int] = (),
    urgent: bool = False,
) -> list[Wanted]:
    """The reminder rows a due day needs: n days before, on it, and when overdue.

    Days already past are not planned, except the latest of them, which goes with its
    text for today as soon as working hours allow (at once when `urgent`): a record
    created late still gets one notice of where it stands, but not at 05:01.
    """
    soon = now if urgent else next_working_time(settings, cal, now)
    soon_day = local_date(settings, soon)
    days = reminder_days(due.date, settings.deadlines.remind_before, cal)
    days += escalation_days(due.date, escalate, cal)
    entries = [(pd, remind_at(settings, pd.on)) for pd in days]
    past = [at for _, at in entries if at <= now]
    latest_past = max(past) if past else None
    wanted: list[Wanted] = []
    for pd, at in entries:
        for target in targets(pd):
            key = f"{subject}|{pd.kind}|{pd.offset}|{due.date.isoformat()}|{target}"
            if at > now:
                wanted.append(Wanted(key, at, target, pd.kind, text(pd, pd.on), urgent=urgent))
            elif at == latest_past:
                wanted.append(Wanted(key, soon, target, pd.kind, text(pd, soon_day),
                                     urgent=urgent))
            else:
                wanted.append(Wanted(key, at, target, pd.kind, "", insert=False))
    return wanted


def next_working_time(settings: Settings, cal: WorkCalendar, now: datetime) -> datetime:
    """`now` when it falls in working hours, else when the next working period opens
    (core.working_hours): a notice that can wait does not go out at night or on a holiday."""
    return working_hours.next_open(now, cal, settings.tz, settings.schedule.periods)
