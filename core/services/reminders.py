"""Sending reminders: the sweeper, the daily digest, statistics and 通报批评 drafts.

Reminders are rows (`reminders`). `sweep` moves every due unsent row into the outbox
(channel "chat") and marks it sent in the same transaction, so a restart neither loses
nor repeats one; a row that waited longer than a sweep interval goes out marked 【补发】.
The bot schedules `sweep` every `schedule.sweep_seconds`, `enqueue_digest` daily at
`schedule.digest_time`, `enqueue_stats` monthly/quarterly; the bot only drains the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from core import localtime
from core import reminder_plan as plan
from core.chat.address import addresses_of
from core.clock import parse_iso
from core.config import Settings
from core.model import OUTCOME_ZH
from core.routing import registry_staff
from core.services import admin, annual, dates, followups, handling, overdue, stats
from core.services.context import Context
from core.storage import disclosure as disclosure_repo
from core.storage import followups as followups_repo
from core.storage import items as items_repo
from core.storage import outbox
from core.storage import reminders as repo
from core.storage import requests as requests_repo
from core.storage.db import UnitOfWork

log = logging.getLogger(__name__)

#: a reminder sent later than one sweep interval plus this is marked late (补发)
LATE_GRACE = timedelta(seconds=30)
LATE_MARK = "【补发】"
BATCH = 200
_WEEKDAYS = "一二三四五六日"


# ------------------------------------------------------------------ targets
def resolve_targets(settings: Settings, target: str) -> tuple[int, ...]:
    """Chat ids for a reminder target; a section nobody is configured for goes to registry.

    "registry" → registrars; "section:NAME" → staff of that section (or named so);
    "leader:NAME" → that leader; "chat:ID" → that chat.
    """
    registry = registry_staff(settings)
    kind, _, name = target.partition(":")
    if kind == "section":
        ids = tuple(dict.fromkeys(
            s.chat_id for s in settings.staff if name in (s.section, s.name)
        ))
        return ids or registry
    if kind == "leader":
        ids = tuple(x.chat_id for x in settings.leader if x.name == name)
        return ids or registry
    if kind == "chat" and name.lstrip("-").isdecimal():
        return (int(name),)
    return registry


def _payload(text: str, **extra: Any) -> dict[str, Any]:
    return {"text": text, "buttons": [], "blob": None, "filename": None, "urgent": False,
            **extra}


# ------------------------------------------------------------------ sweep
@dataclass(frozen=True)
class SweepResult:
    sent: int
    late: int
    messages: int
    synced: overdue.SyncResult


async def _send_due(ctx: Context, now: datetime) -> tuple[int, int, int]:
    """Move due reminders into the outbox, batch by batch: (sent, late, messages).

    Outside working hours only 特急 ones go; the rest wait for the next working period,
    and count as late (补发) only when they missed the first moment they could go."""
    interval = timedelta(seconds=ctx.settings.schedule.sweep_seconds)
    cal = plan.work_calendar(ctx.settings)
    off_hours = plan.next_working_time(ctx.settings, cal, now) != now
    sent = late_n = messages = 0
    while True:
        async with ctx.db.unit_of_work() as uow:
            rows = await repo.due_reminders(uow, now, BATCH, urgent_only=off_hours)
            for row in rows:
                due_at = parse_iso(row["due_at"])
                # the latest a running sweeper would have sent it
                if row["urgent"]:
                    expected = due_at + interval + LATE_GRACE
                else:
                    opens = plan.next_working_time(ctx.settings, cal, due_at)
                    expected = plan.next_working_time(
                        ctx.settings, cal, opens + interval + LATE_GRACE)
                late = now > expected
                if not await repo.mark_sent(uow, row["id"], at=now, late=late):
                    continue
                text = row["text"]
                if late:
                    planned = localtime.minute(due_at, ctx.settings.tz)
                    text = f"{LATE_MARK}{text}\n（原定 {planned} 发送，因系统停机延误）"
                for chat in resolve_targets(ctx.settings, row["target"]):
                    for to in addresses_of(ctx.settings, chat):
                        await outbox.enqueue(
                            uow, channel=outbox.CHAT, event=f"reminder.{row['kind']}",
                            target=to.target, at=now,
                            payload=_payload(text, reminder_id=row["id"], late=late),
                        )
                        messages += 1
                mail = await handling.reminder_mail(uow, ctx.settings, target=row["target"],
                                                    subject=row["subject"], text=text)
                if mail is not None:
                    await outbox.enqueue(uow, channel=outbox.MAIL, event="reminder_mail",
                                         target=mail["to"], payload=mail, at=now,
                                         item_id=int(row["subject"].partition(":")[2]))
                sent += 1
                late_n += int(late)
            await uow.commit()
        if len(rows) < BATCH:
            return sent, late_n, messages


async def sweep(ctx: Context, now: datetime | None = None) -> SweepResult:
    """Reconcile deadlines, then send every due reminder once (late ones marked 补发)."""
    at = now or ctx.clock()
    synced = await overdue.sync(ctx, at)
    await handling.remind_held_copies(ctx, at)
    sent, late, messages = await _send_due(ctx, at)
    if sent:
        log.info("reminders sent: %d (late %d, messages %d)", sent, late, messages)
    return SweepResult(sent, late, messages, synced)


# ------------------------------------------------------------------ digest
def _day_label(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（星期{_WEEKDAYS[day.weekday()]}）"


def calendar_warning(settings: Settings, today: date) -> str | None:
    """In December, the warning that next year's working-day schedule is missing."""
    cal = plan.work_calendar(settings)
    if not cal.missing_next_year(today):
        return None
    nxt = today.year + 1
    return (f"⚠ {nxt} 年的节假日安排尚未掌握：跨入 {nxt} 年的期限暂按周末和法定节假日"
            "推算（不含调休），标“暂定”。"
            f"国务院公布后请在配置 [calendar.{nxt}] 中补充节假日和调休上班日。")


async def _due_today(ctx: Context, day: date) -> list[str]:
    iso_day = day.isoformat()
    lines: list[str] = []
    async with ctx.db.reader() as r:
        tasks = await disclosure_repo.tasks(r, open_only=True)
        reqs = await requests_repo.requests(r, open_only=True)
        open_items = await followups_repo.open_followups(r)
    lines += [f"主动公开 {t['number']}《{t['title']}》（{t['section']}）"
              for t in tasks if t["due_on"] == iso_day]
    lines += [f"依申请公开 第{q['id']}号申请（{q['applicant']}，{q['section']}）"
              for q in reqs if q["due_on"] == iso_day and q["state"] == "running"]
    lines += [f"办件 {f['number'] or '收件' + str(f['item_id'])}"
              f"《{followups.item_title(ctx.settings, f)}》"
              for f in open_items if f["due_on"] == iso_day]
    return lines


async def _received_yesterday(ctx: Context, day: date) -> str:
    yesterday = day - timedelta(days=1)
    tz = ctx.settings.tz
    start = datetime(yesterday.year, yesterday.month, yesterday.day, tzinfo=tz)
    end = datetime(day.year, day.month, day.day, tzinfo=tz)
    async with ctx.db.reader() as r:
        rows = await items_repo.received_between(r, start, end)
    total = sum(row["n"] for row in rows)
    label = f"{yesterday.month}月{yesterday.day}日"
    if not total:
        return f"三、昨日（{label}）未收到新收件。"
    kinds: dict[str, int] = {}
    others: dict[str, int] = {}
    for row in rows:
        if row["outcome"] == "register":
            kinds[row["kind"] or "未分类"] = kinds.get(row["kind"] or "未分类", 0) + row["n"]
        else:
            name = OUTCOME_ZH.get(row["outcome"], row["outcome"])
            others[name] = others.get(name, 0) + row["n"]
    parts = [f"{k} {n} 件" for k, n in kinds.items()]
    extra = ("；" + "，".join(f"{k} {n} 件" for k, n in others.items())) if others else ""
    return f"三、昨日（{label}）新收 {total} 件：{'，'.join(parts) or '无登记件'}{extra}。"


async def digest(ctx: Context, today: date | None = None) -> str:
    """The daily digest for registry staff: due today, overdue, yesterday's new items."""
    day = today or dates.today_of(ctx)
    report = await overdue.overdue(ctx, day)
    due = await _due_today(ctx, day)
    cal = plan.work_calendar(ctx.settings)
    rest = "" if cal.is_workday(day)[0] else "（今日为休息日）"
    lines = [f"【机要日报】{_day_label(day)}{rest}", f"一、今日到期 {len(due)} 件"]
    lines += [f"  · {x}" for x in due] or ["  （无）"]
    lines.append(f"二、已逾期 {len(report.entries)} 件（办件 {report.count('办件')}，"
                 f"主动公开 {report.count('主动公开')}，依申请公开 {report.count('依申请公开')}）")
    shown = report.entries[:10]
    lines += [f"  · {e.kind} {e.ref}《{e.title}》{e.owner}，逾期 {e.days_late} 个工作日"
              for e in shown]
    if len(report.entries) > len(shown):
        lines.append(f"  另有 {len(report.entries) - len(shown)} 件，详见 /overdue")
    lines.append(await _received_yesterday(ctx, day))
    anchor = await admin.current_anchor(ctx)
    lines.append(f"四、审计锚点 {anchor}（请抄存于本系统以外；"
                 f"核对：jiyao audit verify --expect {anchor}）")
    warning = calendar_warning(ctx.settings, day)
    if warning:
        lines.append(warning)
    return "\n".join(lines)


async def enqueue_digest(ctx: Context, now: datetime | None = None) -> bool:
    """Queue today's digest for registry staff once (idempotent), and any 通报批评 draft
    this month or last month has earned. False when today's digest was queued already."""
    at = now or ctx.clock()
    day = plan.local_date(ctx.settings, at)
    text = await digest(ctx, day)
    async with ctx.db.unit_of_work() as uow:
        added = await repo.add_notice(
            uow, dedup=f"digest:{day.isoformat()}", due_at=at, target=plan.REGISTRY,
            subject=f"digest:{day.isoformat()}", kind="digest", text=text, now=at,
        )
        await uow.commit()
    if added and ctx.settings.storage.audit_anchor is not None:
        await admin.take_anchor(ctx)  # the day's anchor kept outside as well
    # this month's misses as soon as a section reaches the threshold; last month's too,
    # since a miss is only known after its due day (a month's last days show next month)
    for period in (stats.previous_month(day), stats.month_period(day.year, day.month)):
        await enqueue_criticism(ctx, period, at)
    await annual.plan_reminders(ctx, at)  # January: last year's report is due on the 31st
    await _send_due(ctx, at)
    return added


# ------------------------------------------------------------------ statistics, 通报批评
async def enqueue_criticism(ctx: Context, period: stats.Period, now: datetime) -> list[str]:
    """Draft a 通报批评 for each section with 3+ 超限 in `period`, to registry staff only.

    Each (period, section) is drafted once; the draft is a notice row sent by the sweeper.
    """
    report = await stats.section_stats(ctx, period, plan.local_date(ctx.settings, now))
    drafted: list[str] = []
    async with ctx.db.unit_of_work() as uow:
        for s in report.criticised():
            key = f"criticism:{period.key}:{s.section}"
            added = await repo.add_notice(
                uow, dedup=key, due_at=now, target=plan.REGISTRY, subject=key,
                kind="criticism", text=stats.criticism_draft(ctx, report, s), now=now,
            )
            if added:
                drafted.append(s.section)
        await uow.commit()
    return drafted


async def _enqueue_file(
    ctx: Context, uow: UnitOfWork, *, data: bytes, filename: str, caption: str, event: str,
    now: datetime,
) -> None:
    digest_ = ctx.blobs.put(data)
    for chat in registry_staff(ctx.settings):
        payload = _payload(caption)
        payload |= {"blob": digest_, "filename": filename}
        for to in addresses_of(ctx.settings, chat):
            await outbox.enqueue(uow, channel=outbox.CHAT, event=event, target=to.target,
                                 payload=payload, at=now)


async def enqueue_stats(ctx: Context, period: stats.Period, now: datetime | None = None) -> bool:
    """Publish a period's statistics to registry staff once: message, PNG chart, XLSX.

    Also drafts the period's 通报批评 notices. False when already published.
    """
    at = now or ctx.clock()
    report = await stats.section_stats(ctx, period, plan.local_date(ctx.settings, at))
    png = stats.render_png(report)
    xlsx = stats.render_xlsx(report)
    async with ctx.db.unit_of_work() as uow:
        key = f"stats:{period.key}"
        added = await repo.add_notice(uow, dedup=key, due_at=at, target=plan.REGISTRY,
                                      subject=key, kind="stats", text=report.text(), now=at)
        if added:
            await _enqueue_file(ctx, uow, data=png, filename=f"政务公开统计-{period.key}.png",
                                caption=f"{period.label}提供和录用情况图", event="stats.png",
                                now=at)
            await _enqueue_file(ctx, uow, data=xlsx, filename=f"政务公开统计-{period.key}.xlsx",
                                caption=f"{period.label}提供和录用情况表", event="stats.xlsx",
                                now=at)
        await uow.commit()
    await enqueue_criticism(ctx, period, at)
    await _send_due(ctx, at)
    return added
