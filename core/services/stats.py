"""Statistics of 主动公开 per section (seed part 3: 按月或季公布信息提供和录用情况).

For a period (month `2026-07`, quarter `2026-Q3`, year `2026`) and each section:

- 提供 (provided): the section's 主动公开 dispatch records formed in the period (成文日期,
  or the day the number was taken while it has none);
- 公开 (published, 录用): publication cycles published in the period;
- 按时 (on time): of those, published on or before the due day;
- 超限 (missed): cycles due in the period that were published late or are still
  unpublished after their due day. Three or more in a period draw a 通报批评 draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core import reports
from core.errors import InvalidInputError
from core.reminder_plan import local_date, work_calendar
from core.services.context import Context
from core.services.dates import today_of
from core.services.overdue import sync
from core.storage import disclosure as repo
from core.storage.db import Row

#: seed part 3: "发生3次及以上超限的应通报批评"
CRITICISM_THRESHOLD = 3

_QUARTER_ZH = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


@dataclass(frozen=True)
class Period:
    key: str
    first: date
    last: date
    label: str

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)


def month_period(year: int, month: int) -> Period:
    return Period(f"{year}-{month:02d}", date(year, month, 1), _month_end(year, month),
                  f"{year}年{month}月")


def quarter_period(year: int, quarter: int) -> Period:
    first_month = 3 * (quarter - 1) + 1
    return Period(f"{year}-Q{quarter}", date(year, first_month, 1),
                  _month_end(year, first_month + 2), f"{year}年{_QUARTER_ZH[quarter]}")


def year_period(year: int) -> Period:
    return Period(str(year), date(year, 1, 1), date(year, 12, 31), f"{year}年")


def parse_period(text: str) -> Period:
    """`2026-07` (month), `2026-Q3` (quarter), `2026` (year)."""
    t = text.strip().upper()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
        month = int(m[2])
        if 1 <= month <= 12:
            return month_period(int(m[1]), month)
    elif m := re.fullmatch(r"(\d{4})-?Q([1-4])", t):
        return quarter_period(int(m[1]), int(m[2]))
    elif re.fullmatch(r"\d{4}", t):
        return year_period(int(t))
    raise InvalidInputError(
        f"无法识别的统计期间 {text!r}（例如 2026-07、2026-Q3、2026）", field="period"
    )


def previous_month(today: date) -> Period:
    first = today.replace(day=1) - timedelta(days=1)
    return month_period(first.year, first.month)


def previous_quarter(today: date) -> Period:
    q = (today.month - 1) // 3 + 1
    return quarter_period(today.year - 1, 4) if q == 1 else quarter_period(today.year, q - 1)


@dataclass(frozen=True)
class Miss:
    """One 超限: a cycle due in the period that was published late or not at all."""

    number: str
    title: str
    due: date
    published_on: date | None
    days_late: int


@dataclass
class SectionStats:
    section: str
    provided: int = 0
    published: int = 0
    on_time: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return len(self.misses)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.published if self.published else None

    def as_json(self) -> dict[str, Any]:
        return {"section": self.section, "provided": self.provided, "published": self.published,
                "on_time": self.on_time, "overdue": self.overdue,
                "on_time_rate": self.on_time_rate}


@dataclass(frozen=True)
class StatsReport:
    period: Period
    today: date
    sections: list[SectionStats]

    @property
    def total(self) -> SectionStats:
        t = SectionStats("合计")
        for s in self.sections:
            t.provided += s.provided
            t.published += s.published
            t.on_time += s.on_time
            t.misses.extend(s.misses)
        return t

    def criticised(self) -> list[SectionStats]:
        return [s for s in self.sections if s.overdue >= CRITICISM_THRESHOLD]

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period.key, "label": self.period.label,
            "first": self.period.first.isoformat(), "last": self.period.last.isoformat(),
            "as_of": self.today.isoformat(),
            "sections": [s.as_json() for s in self.sections],
            "total": self.total.as_json(),
            "criticised": [s.section for s in self.criticised()],
        }

    def text(self) -> str:
        """The Chinese message published to staff."""
        p = self.period
        span = f"{p.first.isoformat()} 至 {p.last.isoformat()}，统计截至 {self.today.isoformat()}"
        lines = [f"【政务公开信息提供和录用情况】{p.label}（{span}）"]
        for s in [*self.sections, self.total]:
            rate = f"，按时率 {s.on_time_rate:.0%}" if s.on_time_rate is not None else ""
            lines.append(f"{s.section}：提供 {s.provided} 件，公开 {s.published} 件"
                         f"（按时 {s.on_time} 件{rate}），超限 {s.overdue} 件")
        bad = self.criticised()
        if bad:
            names = "、".join(s.section for s in bad)
            lines.append(f"超限 {CRITICISM_THRESHOLD} 次及以上：{names}"
                         "（拟通报批评，草稿送文书处理室审核）")
        return "\n".join(lines)

    def headers(self) -> list[str]:
        return ["科室", "提供", "公开（录用）", "按时公开", "按时率", "超限"]

    def rows(self) -> list[list[Any]]:
        return [
            [s.section, s.provided, s.published, s.on_time,
             round(s.on_time_rate, 4) if s.on_time_rate is not None else None, s.overdue]
            for s in [*self.sections, self.total]
        ]


async def section_stats(ctx: Context, period: Period, today: date | None = None) -> StatsReport:
    """Per-section 提供/公开/按时/超限 for `period`, as of `today` (default: the office's today)."""
    [report] = await periods_stats(ctx, [period], today)
    return report


async def periods_stats(
    ctx: Context, periods: list[Period], today: date | None = None
) -> list[StatsReport]:
    """`section_stats` of several periods, reading the records once."""
    await sync(ctx)  # records entered since the last sweep count too
    day = today or today_of(ctx)
    async with ctx.db.reader() as r:
        records = await repo.disclosed_dispatches(r)
        spans = [(await repo.tasks_published_between(r, p.first, p.last),
                  await repo.tasks_due_between(r, p.first, p.last)) for p in periods]
    formed = [(rec["section"], date.fromisoformat(rec["written_on"]) if rec["written_on"]
               else local_date(ctx.settings, datetime.fromisoformat(rec["taken_at"])))
              for rec in records]
    return [_period_stats(ctx, p, day, formed, published, due)
            for p, (published, due) in zip(periods, spans, strict=True)]


def _period_stats(
    ctx: Context, period: Period, day: date, formed: list[tuple[str, date]],
    published: list[Row], due: list[Row],
) -> StatsReport:
    cal = work_calendar(ctx.settings)
    by: dict[str, SectionStats] = {s: SectionStats(s) for s in ctx.settings.office.sections}

    def of(section: str) -> SectionStats:
        return by.setdefault(section, SectionStats(section))

    for section, on in formed:
        if period.contains(on):
            of(section).provided += 1
    for t in published:
        s = of(t["section"])
        s.published += 1
        s.on_time += int(t["published_on"] <= t["due_on"])
    for t in due:
        due_on = date.fromisoformat(t["due_on"])
        pub = date.fromisoformat(t["published_on"]) if t["published_on"] else None
        late_until = pub if pub is not None else day
        if late_until > due_on and (pub is not None or t["status"] == "open"):
            of(t["section"]).misses.append(
                Miss(t["number"], t["title"], due_on, pub, cal.workdays_between(due_on, late_until))
            )
    return StatsReport(period, day, list(by.values()))


def render_png(report: StatsReport) -> bytes:
    """Bar chart: provided, published, on time and missed per section."""
    names = [s.section for s in report.sections]
    series = [
        ("提供", [s.provided for s in report.sections]),
        ("公开", [s.published for s in report.sections]),
        ("按时公开", [s.on_time for s in report.sections]),
        ("超限", [s.overdue for s in report.sections]),
    ]
    return reports.bar_chart_png(f"政务公开信息提供和录用情况 {report.period.label}", names, series)


def render_xlsx(report: StatsReport) -> bytes:
    return reports.table_xlsx(
        "提供和录用情况", report.headers(), report.rows(),
        title=f"政务公开信息提供和录用情况 {report.period.label}"
              f"（{report.period.first.isoformat()} 至 {report.period.last.isoformat()}）",
    )


def criticism_draft(ctx: Context, report: StatsReport, s: SectionStats) -> str:
    """A draft 通报批评 for a section with 3 or more 超限 (for registry staff to review)."""
    office = ctx.settings.office.name
    lines = [
        "【通报批评（草稿，请审核后再行文，勿直接转发）】",
        f"关于{s.section}政府信息公开超限情况的通报",
        "办公室各科室：",
        (f"根据《中华人民共和国政府信息公开条例》第二十六条和本办政务公开考核要求，"
         f"{report.period.label}，{s.section}有 {s.overdue} 件应主动公开的政府信息"
         "未在规定期限内公开："),
    ]
    for i, m in enumerate(s.misses, start=1):
        state = (f"{m.published_on.isoformat()} 公开" if m.published_on
                 else f"截至 {report.today.isoformat()} 仍未公开")
        lines.append(f"  {i}. {m.number}《{m.title}》，公开期限 {m.due.isoformat()}，{state}，"
                     f"超限 {m.days_late} 个工作日；")
    lines += [
        (f"按照“发生{CRITICISM_THRESHOLD}次及以上超限的应通报批评”的规定，现予通报批评。"
         f"请{s.section}认真整改，严格按期限做好政府信息主动公开工作。"),
        f"{office}办公室",
        f"{report.today.year}年{report.today.month}月{report.today.day}日",
    ]
    return "\n".join(lines)
