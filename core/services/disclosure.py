"""主动公开 (DOMAIN §6, 条例 Art. 26): each dispatch record marked 主动公开 has a cycle of
20 working days from its 成文日期 (or a later change), a 保密审查 before publication, and
reminders to its section. Every change replans the cycle's reminders in the same
transaction; `overdue.sync` reconciles records changed elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core import deadline_rules as rules
from core import reminder_plan as plan
from core.calendar import WorkCalendar, WorkDate
from core.errors import ConflictError, InvalidInputError
from core.services import dispatch
from core.services.context import Context
from core.services.dates import ACTOR, not_future
from core.storage import audit
from core.storage import disclosure as repo
from core.storage import dispatch as dispatch_repo
from core.storage import reminders as reminders_repo
from core.storage.db import Reader, Row, UnitOfWork

REVIEW_RESULTS = ("通过", "不通过")


async def find_dispatch(ctx: Context, conn: Reader | UnitOfWork, number: str) -> Row:
    """A dispatch record by its number as staff typed it (variants normalised)."""
    return await dispatch.resolve(conn, ctx, number)


def _dispatch_section(d: Row) -> str:
    return str(d["section"] or d["owner"])


def _disclosure_text(d: Row, cal: WorkCalendar, due: WorkDate) -> plan.TextFn:
    def text(pd: plan.PlannedDay, day: date) -> str:
        head = "【政务公开逾期】" if day > due.date else "【政务公开提醒】"
        tail = (
            "请尽快公开，并登记公开网址。" if day > due.date
            else "公开前须完成保密审查，公开后请登记公开网址。"
        )
        return (f"{head}{d['number']}《{d['title']}》应主动公开（条例第二十六条）："
                f"{plan.when_text(due, day, cal)}。{tail}")

    return text


async def _plan_task(ctx: Context, uow: UnitOfWork, task_id: int, now: datetime) -> None:
    task = await repo.get_task(uow, task_id)
    if task is None:  # pragma: no cover - called right after insert/update
        return
    subject = f"disclosure:{task_id}"
    if task["status"] != "open":
        await reminders_repo.cancel_planned(uow, subject, now)
        return
    d = await dispatch_repo.get(uow, task["dispatch_id"])
    assert d is not None
    cal = plan.work_calendar(ctx.settings)
    due = WorkDate(date.fromisoformat(task["due_on"]), bool(task["provisional"]))
    target = f"section:{task['section']}"
    wanted = plan.plan_for_due(
        ctx.settings, cal, subject=subject, due=due, targets=lambda _pd: [target],
        text=_disclosure_text(d, cal, due), now=now,
    )
    await reminders_repo.replan(uow, subject, wanted, now)


async def track_dispatch(ctx: Context, uow: UnitOfWork, dispatch_id: int, now: datetime) -> None:
    """Bring a dispatch record's 主动公开 cycle in line with the record (inside `uow`).

    Dispatch code may call this right after changing a record; `sync` calls it anyway.
    """
    d = await dispatch_repo.get(uow, dispatch_id)
    if d is None:
        return
    task = await repo.open_task(uow, dispatch_id)
    cal = plan.work_calendar(ctx.settings)
    tracked = d["status"] == "active" and d["disclosure"] == "主动公开" and d["written_on"]
    if not tracked:
        if task is not None:
            reason = "发文已作废" if d["status"] != "active" else "公开属性已改或成文日期已清除"
            await repo.close_task(uow, task["id"], status="cancelled", at=now, by="system",
                                  note=reason)
            await _plan_task(ctx, uow, task["id"], now)
            await audit.append(uow, at=now, actor="system", action="disclosure.cancel",
                               subject=f"dispatch:{dispatch_id}", detail={"reason": reason})
        return
    written = date.fromisoformat(d["written_on"])
    section = _dispatch_section(d)
    if task is None:
        latest = await repo.latest_task(uow, dispatch_id)
        if latest is not None and latest["status"] == "published":
            return
        due = rules.publication_due(written, cal)
        task_id = await repo.insert_task(
            uow, repo.NewTask(dispatch_id, section, written, "成文", due.date, due.provisional), now
        )
        await audit.append(uow, at=now, actor="system", action="disclosure.track",
                           subject=f"dispatch:{dispatch_id}",
                           detail={"number": d["number"], "due": due.date.isoformat(),
                                   "provisional": due.provisional})
    else:
        task_id = task["id"]
        base = written if task["base_kind"] == "成文" else date.fromisoformat(task["base_on"])
        due = rules.publication_due(base, cal)
        changed = (base.isoformat(), section, due.date.isoformat(), int(due.provisional)) != (
            task["base_on"], task["section"], task["due_on"], task["provisional"]
        )
        if changed:
            await repo.update_task(uow, task_id, section=section, base_on=base, due_on=due.date,
                                   provisional=due.provisional, at=now)
            await audit.append(uow, at=now, actor="system", action="disclosure.recompute",
                               subject=f"dispatch:{dispatch_id}",
                               detail={"base": base.isoformat(), "due": due.date.isoformat()})
    await _plan_task(ctx, uow, task_id, now)


@dataclass(frozen=True)
class DisclosureView:
    """One 主动公开 cycle of a dispatch record, for lists and replies."""

    dispatch_id: int
    number: str
    title: str
    section: str
    cycle: int
    base_on: date
    base_kind: str
    due: WorkDate
    status: str
    published_on: date | None
    url: str | None
    review: str | None

    @property
    def on_time(self) -> bool | None:
        if self.published_on is None:
            return None
        return self.published_on <= self.due.date

    def as_json(self) -> dict[str, Any]:
        return {
            "dispatch_id": self.dispatch_id, "number": self.number, "title": self.title,
            "section": self.section, "cycle": self.cycle, "base_on": self.base_on.isoformat(),
            "base_kind": self.base_kind, "due": self.due.date.isoformat(),
            "provisional": self.due.provisional, "status": self.status,
            "published_on": self.published_on.isoformat() if self.published_on else None,
            "url": self.url, "on_time": self.on_time, "review": self.review,
        }


def _view(row: Row) -> DisclosureView:
    due = plan.work_date(row["due_on"], row["provisional"])
    assert due is not None
    return DisclosureView(
        dispatch_id=row["dispatch_id"], number=row["number"], title=row["title"],
        section=row["section"], cycle=row["cycle"], base_on=date.fromisoformat(row["base_on"]),
        base_kind=row["base_kind"], due=due, status=row["status"],
        published_on=date.fromisoformat(row["published_on"]) if row["published_on"] else None,
        url=row["url"], review=row["review_result"],
    )


async def _task_view(conn: Reader | UnitOfWork, task_id: int) -> DisclosureView:
    row = await repo.task_view(conn, task_id)
    assert row is not None
    return _view(row)


def _tracked_or_refuse(d: Row) -> None:
    if d["status"] != "active":
        raise ConflictError(f"{d['number']} 已作废，不能登记公开")
    if d["disclosure"] != "主动公开":
        shown = d["disclosure"] or "未填写"
        raise ConflictError(f"{d['number']} 的公开属性为{shown}，不是主动公开")
    if not d["written_on"]:
        raise ConflictError(f"{d['number']} 尚无成文日期，无法计算公开期限；请先补登成文日期")


async def review_secrecy(
    ctx: Context,
    *,
    number: str,
    reviewer: str,
    result: str,
    on: date | None = None,
    note: str | None = None,
    actor: str = ACTOR,
) -> dict[str, Any]:
    """Record a 保密审查 of a dispatch record: reviewer, date, result (通过/不通过)."""
    if result not in REVIEW_RESULTS:
        raise InvalidInputError(f"审查结果应为 通过 或 不通过，收到 {result!r}", field="result")
    if not reviewer.strip():
        raise InvalidInputError("须填写审查人", field="reviewer")
    now = ctx.clock()
    day = on or plan.local_date(ctx.settings, now)
    not_future(day, plan.local_date(ctx.settings, now), "审查日期")
    async with ctx.db.unit_of_work() as uow:
        d = await find_dispatch(ctx, uow, number)
        if d["status"] != "active":
            raise ConflictError(f"{d['number']} 已作废，不需审查")
        review_id = await repo.add_review(
            uow, dispatch_id=d["id"], reviewer=reviewer.strip(), reviewed_on=day, result=result,
            note=note, at=now, by=actor,
        )
        await audit.append(uow, at=now, actor=actor, action="secrecy.review",
                           subject=f"dispatch:{d['id']}",
                           detail={"number": d["number"], "reviewer": reviewer, "result": result,
                                   "on": day.isoformat(), "note": note})
        await uow.commit()
    return {"id": review_id, "number": d["number"], "reviewer": reviewer.strip(),
            "reviewed_on": day.isoformat(), "result": result, "note": note}


async def mark_published(
    ctx: Context, *, number: str, url: str, on: date | None = None, actor: str = ACTOR,
    on_published: Callable[[UnitOfWork, int, Row], Awaitable[None]] | None = None,
) -> DisclosureView:
    """Close a 主动公开 cycle: refused without a passed 保密审查 on or before the day.

    `on_published(uow, task_id, dispatch_row)` runs inside the same unit of work (the site
    records the file as published there)."""
    if not url.strip():
        raise InvalidInputError("须填写公开网址（或公开载体中的位置）", field="url")
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    day = on or today
    not_future(day, today, "公开日期")
    async with ctx.db.unit_of_work() as uow:
        d = await find_dispatch(ctx, uow, number)
        _tracked_or_refuse(d)
        task = await repo.open_task(uow, d["id"])
        if task is None:
            await track_dispatch(ctx, uow, d["id"], now)
            task = await repo.open_task(uow, d["id"])
        if task is None:
            latest = await repo.latest_task(uow, d["id"])
            when = latest["published_on"] if latest else "?"
            raise ConflictError(f"{d['number']} 已于 {when} 登记公开；信息变更后请先登记变更")
        review = await repo.latest_review(uow, d["id"])
        if review is None:
            raise ConflictError(
                f"{d['number']} 尚未进行保密审查，不能登记公开；"
                "请先登记保密审查（审查人、日期、结果）"
            )
        if review["result"] != "通过":
            raise ConflictError(
                f"{d['number']} 保密审查未通过（审查人 {review['reviewer']}，"
                f"{review['reviewed_on']}），不能公开"
            )
        if task["base_kind"] == "变更" and review["reviewed_on"] < task["base_on"]:
            raise ConflictError(
                f"{d['number']} 的信息于 {task['base_on']} 变更，须重新进行保密审查后才能公开"
            )
        if review["reviewed_on"] > day.isoformat():
            raise ConflictError(
                f"保密审查日期 {review['reviewed_on']} 晚于公开日期 {day.isoformat()}，"
                "须先审查后公开"
            )
        if day.isoformat() < task["base_on"]:
            raise InvalidInputError(
                f"公开日期 {day.isoformat()} 早于信息形成日期 {task['base_on']}"
            )
        await repo.close_task(uow, task["id"], status="published", at=now, by=actor,
                              published_on=day, url=url.strip())
        if on_published is not None:
            await on_published(uow, task["id"], d)
        await _plan_task(ctx, uow, task["id"], now)
        await audit.append(uow, at=now, actor=actor, action="disclosure.publish",
                           subject=f"dispatch:{d['id']}",
                           detail={"number": d["number"], "on": day.isoformat(), "url": url,
                                   "due": task["due_on"]})
        view = await _task_view(uow, task["id"])
        await uow.commit()
    return view


async def record_change(
    ctx: Context, *, number: str, on: date | None = None, note: str | None = None,
    actor: str = ACTOR,
) -> DisclosureView:
    """Information changed (Art. 26): a published record opens a new 20-working-day cycle.

    While a cycle is still open the change is noted on it; its deadline stays, since the
    information was due already.
    """
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    day = on or today
    not_future(day, today, "变更日期")
    cal = plan.work_calendar(ctx.settings)
    async with ctx.db.unit_of_work() as uow:
        d = await find_dispatch(ctx, uow, number)
        _tracked_or_refuse(d)
        await track_dispatch(ctx, uow, d["id"], now)
        task = await repo.open_task(uow, d["id"])
        text = f"{day.isoformat()} 信息变更" + (f"：{note}" if note else "")
        if task is not None:
            await repo.append_task_note(uow, task["id"], text, now)
            task_id = task["id"]
        else:
            due = rules.publication_due(day, cal)
            task_id = await repo.insert_task(
                uow,
                repo.NewTask(d["id"], _dispatch_section(d), day, "变更", due.date,
                             due.provisional, note=text),
                now,
            )
            await _plan_task(ctx, uow, task_id, now)
        await audit.append(uow, at=now, actor=actor, action="disclosure.change",
                           subject=f"dispatch:{d['id']}",
                           detail={"number": d["number"], "on": day.isoformat(), "note": note})
        view = await _task_view(uow, task_id)
        await uow.commit()
    return view


async def disclosure_list(ctx: Context, *, open_only: bool = True) -> list[DisclosureView]:
    async with ctx.db.reader() as r:
        rows = await repo.tasks(r, open_only=open_only)
    return [_view(row) for row in rows]

