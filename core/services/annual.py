"""The 政府信息公开工作年度报告 of a year (条例 Art. 49–50) from the registry's records, and
the January reminder to registry staff to prepare it (due by 31 January, Art. 49)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from core import annual_report as report
from core import reminder_plan as plan
from core.annual_report import AnnualReport, RequestFact, SectionFigures, YearFacts
from core.calendar import WorkCalendar, WorkDate
from core.errors import InvalidInputError
from core.services import stats
from core.services.context import Context
from core.services.dates import today_of
from core.storage import disclosure as disclosure_repo
from core.storage import reminders as reminders_repo
from core.storage import requests as requests_repo
from core.storage.db import Row


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _fact(r: Row) -> RequestFact:
    return RequestFact(
        received_on=date.fromisoformat(r["received_on"]), answered_on=_day(r["answered_on"]),
        reply_type=r["reply_type"], reply_reason=r["reply_reason"],
        on_time=None if r["on_time"] is None else bool(r["on_time"]),
        due_on=_day(r["due_on"]), extended_on=_day(r["extended_on"]),
        applicant_kind=r["applicant_kind"],
    )


async def annual_report(ctx: Context, year: int) -> AnnualReport:
    """The year's report; refused for a year not yet begun."""
    today = today_of(ctx)
    if year > today.year:
        raise InvalidInputError(f"{year} 年尚未开始，无法生成年度报告", field="year")
    period = stats.year_period(year)
    figures = await stats.section_stats(ctx, period, today)
    async with ctx.db.reader() as r:
        records = await disclosure_repo.disclosed_dispatches(r)
        rows = await requests_repo.requests_of_year(r, period.first, period.last)
    by_column: Counter[str] = Counter()
    for rec in records:
        formed = _day(rec["written_on"]) or plan.local_date(
            ctx.settings, datetime.fromisoformat(rec["taken_at"]))
        if period.contains(formed):
            by_column[rec["catalogue_column"] or ""] += 1
    facts = YearFacts(
        year=year, office=ctx.settings.office.name, public_by_column=dict(by_column),
        requests=[_fact(row) for row in rows],
        sections=[SectionFigures(s.section, s.provided, s.published, s.on_time, s.overdue)
                  for s in figures.sections],
        as_of=today,
    )
    return report.build(facts)


def _reminder_text(year: int, due: WorkDate, cal: WorkCalendar) -> plan.TextFn:
    def text(_pd: plan.PlannedDay, day: date) -> str:
        return (f"【政府信息公开年度报告】{year} 年政府信息公开工作年度报告须于 {year + 1} 年"
                f" 1 月 31 日前向社会公布（条例第四十九条），{plan.when_text(due, day, cal)}。"
                f"可运行 jiyao annual-report {year} --out 目录 生成初稿（xlsx 和 DOCX），"
                "标注〔待填〕的各项须人工填写。")

    return text


async def plan_reminders(ctx: Context, now: datetime) -> None:
    """In January, plan the reminders of last year's report to registry staff: on the
    first working day of January, n working days before the last working day on or
    before 31 January, and on that day.
    Idempotent (planned rows are keyed); outside January nothing is planned."""
    today = plan.local_date(ctx.settings, now)
    if today.month != 1:
        return
    year = today.year - 1
    cal = plan.work_calendar(ctx.settings)
    # "1月31日前": the last working day on or before the 31st
    last = date(today.year, 1, 31)
    while not cal.is_workday(last)[0]:
        last -= timedelta(days=1)
    due = WorkDate(last, provisional=cal.is_workday(last)[1])
    subject = f"annual-report:{year}"
    text = _reminder_text(year, due, cal)
    wanted = [w for w in plan.plan_for_due(
        ctx.settings, cal, subject=subject, due=due, targets=lambda _pd: [plan.REGISTRY],
        text=text, now=now) if w.kind != "overdue"]
    # the first working day of January: a record made later gets it at once
    start = cal.add_workdays(date(year, 12, 31), 1).date
    at = max(plan.remind_at(ctx.settings, start), now)
    wanted.append(plan.Wanted(f"{subject}|start|{start.isoformat()}|{plan.REGISTRY}", at,
                              plan.REGISTRY, "before",
                              text(plan.PlannedDay("before", 0, start), max(start, today))))
    async with ctx.db.unit_of_work() as uow:
        await reminders_repo.replan(uow, subject, wanted, now)
        await uow.commit()
