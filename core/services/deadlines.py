"""Use cases of deadlines (DOMAIN §6): 主动公开 cycles and 保密审查, 依申请公开 requests,
催办 of 办件, the overdue list. Every change replans the subject's reminder rows in the
same transaction; `sync` reconciles what other parts of the system created (dispatch
records, registered 办件) and is run by the sweeper, so nothing depends on a hook.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from core import deadlines as rules
from core.calendar import WorkCalendar, WorkDate
from core.clock import iso
from core.config import REGISTRY_OWNER, Settings
from core.errors import ConflictError, InvalidInputError, NotFoundError
from core.model import Kind, Outcome
from core.routing import RoutingItem, route
from core.services import dispatch
from core.services.context import Context
from core.services.registry import resolve_ref
from core.storage import audit
from core.storage import deadlines as repo
from core.storage.db import Reader, Row, UnitOfWork

ACTOR = "staff"
REVIEW_RESULTS = ("通过", "不通过")

#: reminder targets: "registry", "section:NAME", "leader:NAME", "chat:ID"
REGISTRY = "registry"


# ------------------------------------------------------------------ basics
def work_calendar(settings: Settings) -> WorkCalendar:
    """The working-day calendar: the package's schedule plus `[calendar]` from config."""
    return WorkCalendar.from_config(settings.calendar)


def local_date(settings: Settings, at: datetime) -> date:
    return at.astimezone(settings.tz).date()


def today_of(ctx: Context) -> date:
    return local_date(ctx.settings, ctx.clock())


def remind_at(settings: Settings, day: date) -> datetime:
    """When a reminder for `day` is due: the digest time (local) on that day, in UTC."""
    hh, _, mm = settings.schedule.digest_time.partition(":")
    local = datetime.combine(day, time(int(hh), int(mm or 0)), tzinfo=settings.tz)
    return local.astimezone(UTC)


def _parse_day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"{what}格式不对：{text!r}（应为 YYYY-MM-DD）", field=what
        ) from None


def _not_future(day: date, today: date, what: str) -> None:
    if day > today:
        raise InvalidInputError(f"{what} {day.isoformat()} 晚于今天（{today.isoformat()}）")


def _wd(text: str | None, provisional: int | bool) -> WorkDate | None:
    return WorkDate(date.fromisoformat(text), bool(provisional)) if text else None


def _sections(settings: Settings) -> set[str]:
    """The 科室 a task may be given to: the office's sections and the staff's own."""
    return set(settings.office.sections) | {s.section or s.name for s in settings.staff} | {
        disclosure_section(settings)}


def disclosure_section(settings: Settings) -> str:
    """The section that handles 依申请公开: the first staff with the disclosure role."""
    for s in settings.staff:
        if "disclosure" in s.roles:
            return s.section or s.name
    return REGISTRY_OWNER


# ------------------------------------------------------------------ reminder planning
TextFn = Callable[[rules.PlannedDay, date], str]


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
    targets: Callable[[rules.PlannedDay], Sequence[str]],
    text: TextFn,
    now: datetime,
) -> list[repo.Wanted]:
    """The reminder rows a due day needs: n days before, on it, and when overdue.

    Days already past are not planned, except the latest of them, which goes now with its
    text for today: a record created late still gets one notice of where it stands.
    """
    today = local_date(settings, now)
    days = rules.reminder_days(due.date, settings.deadlines.remind_before, cal)
    entries = [(pd, remind_at(settings, pd.on)) for pd in days]
    past = [at for _, at in entries if at <= now]
    latest_past = max(past) if past else None
    wanted: list[repo.Wanted] = []
    for pd, at in entries:
        for target in targets(pd):
            key = f"{subject}|{pd.kind}|{pd.offset}|{due.date.isoformat()}|{target}"
            if at > now:
                wanted.append(repo.Wanted(key, at, target, pd.kind, text(pd, pd.on)))
            elif at == latest_past:
                wanted.append(repo.Wanted(key, now, target, pd.kind, text(pd, today)))
            else:
                wanted.append(repo.Wanted(key, at, target, pd.kind, "", insert=False))
    return wanted


# ------------------------------------------------------------------ dispatch records
async def find_dispatch(ctx: Context, conn: Reader | UnitOfWork, number: str) -> Row:
    """A dispatch record by its number as staff typed it (variants normalised)."""
    return await dispatch.resolve(conn, ctx, number)


def _dispatch_section(d: Row) -> str:
    return str(d["section"] or d["owner"])


def _disclosure_text(d: Row, cal: WorkCalendar, due: WorkDate) -> TextFn:
    def text(pd: rules.PlannedDay, day: date) -> str:
        head = "【政务公开逾期】" if day > due.date else "【政务公开提醒】"
        tail = (
            "请尽快公开，并登记公开网址。" if day > due.date
            else "公开前须完成保密审查，公开后请登记公开网址。"
        )
        return (f"{head}{d['number']}《{d['title']}》应主动公开（条例第二十六条）："
                f"{when_text(due, day, cal)}。{tail}")

    return text


async def _plan_task(ctx: Context, uow: UnitOfWork, task_id: int, now: datetime) -> None:
    task = await uow.fetchone("SELECT * FROM disclosure_tasks WHERE id = ?", (task_id,))
    if task is None:  # pragma: no cover - called right after insert/update
        return
    subject = f"disclosure:{task_id}"
    if task["status"] != "open":
        await repo.cancel_planned(uow, subject, now)
        return
    d = await repo.get_dispatch(uow, task["dispatch_id"])
    assert d is not None
    cal = work_calendar(ctx.settings)
    due = WorkDate(date.fromisoformat(task["due_on"]), bool(task["provisional"]))
    target = f"section:{task['section']}"
    wanted = plan_for_due(
        ctx.settings, cal, subject=subject, due=due, targets=lambda _pd: [target],
        text=_disclosure_text(d, cal, due), now=now,
    )
    await repo.replan(uow, subject, wanted, now)


async def track_dispatch(ctx: Context, uow: UnitOfWork, dispatch_id: int, now: datetime) -> None:
    """Bring a dispatch record's 主动公开 cycle in line with the record (inside `uow`).

    Dispatch code may call this right after changing a record; `sync` calls it anyway.
    """
    d = await repo.get_dispatch(uow, dispatch_id)
    if d is None:
        return
    task = await repo.open_task(uow, dispatch_id)
    cal = work_calendar(ctx.settings)
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
    due = _wd(row["due_on"], row["provisional"])
    assert due is not None
    return DisclosureView(
        dispatch_id=row["dispatch_id"], number=row["number"], title=row["title"],
        section=row["section"], cycle=row["cycle"], base_on=date.fromisoformat(row["base_on"]),
        base_kind=row["base_kind"], due=due, status=row["status"],
        published_on=date.fromisoformat(row["published_on"]) if row["published_on"] else None,
        url=row["url"], review=row["review_result"],
    )


async def _task_view(conn: Reader | UnitOfWork, task_id: int) -> DisclosureView:
    row = await conn.fetchone(
        "SELECT t.*, d.number, d.title, (SELECT r.result FROM secrecy_reviews r"
        " WHERE r.dispatch_id = d.id ORDER BY r.id DESC LIMIT 1) AS review_result"
        " FROM disclosure_tasks t JOIN dispatches d ON d.id = t.dispatch_id WHERE t.id = ?",
        (task_id,),
    )
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
    day = on or local_date(ctx.settings, now)
    _not_future(day, local_date(ctx.settings, now), "审查日期")
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
    today = local_date(ctx.settings, now)
    day = on or today
    _not_future(day, today, "公开日期")
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
    today = local_date(ctx.settings, now)
    day = on or today
    _not_future(day, today, "变更日期")
    cal = work_calendar(ctx.settings)
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


# ------------------------------------------------------------------ 催办 of 办件
def item_leaders(settings: Settings, item: Row) -> list[str]:
    """The leaders a 办件 goes to by 分工 (the routing rule), by name."""
    r = route(
        RoutingItem(kind=Kind.BAN, outcome=Outcome.REGISTER, sender=item["sender"],
                    title=item["title"]),
        settings,
    )
    return [x.name for x in r.leaders]


def chat_title(settings: Settings, item: Row) -> str:
    """An item's title as chat may show it: a 秘密/机密 item's title only when policy allows
    (DOMAIN §7)."""
    if item["secrecy"] and not settings.bot.classified_titles:
        return f"{item['secrecy']}件，标题不在聊天中显示"
    return str(item["title"] or "无标题")


def _item_text(settings: Settings, item: Row, cal: WorkCalendar, due: WorkDate) -> TextFn:
    def text(pd: rules.PlannedDay, day: date) -> str:
        head = "【催办·逾期】" if day > due.date else "【催办】"
        ref = item["number"] or f"收件 {item['id']}"
        sender = f"（{item['sender']}）" if item["sender"] else ""
        title = chat_title(settings, item)
        return f"{head}办件 {ref}《{title}》{sender}：{when_text(due, day, cal)}。"

    return text


async def track_item(ctx: Context, uow: UnitOfWork, item_id: int, now: datetime) -> None:
    """Create or update a 办件's follow-up and its reminders (inside `uow`)."""
    item = await repo.item_for_followup(uow, item_id)
    if item is None:
        return
    f = await repo.get_followup(uow, item_id)
    subject = f"item:{item_id}"
    active = (item["kind"] == Kind.BAN.value and item["outcome"] == Outcome.REGISTER.value
              and item["number"] is not None)
    if not active:
        if f is not None and f["status"] == "open":
            await repo.close_followup(uow, item_id, status="cancelled", on=None, by="system",
                                      at=now)
            await repo.cancel_planned(uow, subject, now)
        return
    if f is not None and f["status"] == "done":
        return
    cal = work_calendar(ctx.settings)
    registered = item["registered_at"] or item["received_at"]
    registered_on = local_date(ctx.settings, datetime.fromisoformat(registered))
    due = rules.item_due(
        deadline=item["deadline"], registered_on=registered_on, urgency=item["urgency"],
        defaults=ctx.settings.deadlines.default_workdays, cal=cal,
    )
    await repo.upsert_followup(
        uow,
        repo.Followup(item_id, registered_on, due.due.date, due.due.provisional, due.source,
                      item["deadline"], item["urgency"]),
        now,
    )
    leaders = [f"leader:{name}" for name in item_leaders(ctx.settings, item)]

    def targets(pd: rules.PlannedDay) -> list[str]:
        return [REGISTRY] if pd.kind == "before" else [REGISTRY, *leaders]

    wanted = plan_for_due(ctx.settings, cal, subject=subject, due=due.due, targets=targets,
                          text=_item_text(ctx.settings, item, cal, due.due), now=now)
    await repo.replan(uow, subject, wanted, now)
    if f is None:
        await audit.append(uow, at=now, actor="system", action="item.followup",
                           subject=subject,
                           detail={"due": due.due.date.isoformat(), "source": due.source})


async def close_item(
    ctx: Context, *, ref: str, on: date | None = None, actor: str = ACTOR
) -> dict[str, Any]:
    """办结: a 办件 is finished; its 催办 stops."""
    now = ctx.clock()
    today = local_date(ctx.settings, now)
    day = on or today
    _not_future(day, today, "办结日期")
    async with ctx.db.unit_of_work() as uow:
        item = await resolve_ref(uow, ctx, ref)
        if item["kind"] != Kind.BAN.value or item["outcome"] != Outcome.REGISTER.value:
            raise ConflictError(f"收件 {item['id']} 不是已登记的办件，无需办结")
        await track_item(ctx, uow, item["id"], now)
        f = await repo.get_followup(uow, item["id"])
        if f is None:
            raise ConflictError(f"收件 {item['id']} 没有有效的办件编号")
        if f["status"] == "done":
            raise ConflictError(f"收件 {item['id']} 已于 {f['done_on']} 办结")
        if day.isoformat() < f["registered_on"]:
            raise InvalidInputError(
                f"办结日期 {day.isoformat()} 早于登记日期 {f['registered_on']}", field="date"
            )
        await repo.close_followup(uow, item["id"], status="done", on=day, by=actor, at=now)
        await repo.cancel_planned(uow, f"item:{item['id']}", now)
        await audit.append(uow, at=now, actor=actor, action="item.done",
                           subject=f"item:{item['id']}", detail={"on": day.isoformat()})
        await uow.commit()
    return {"item_id": item["id"], "done_on": day.isoformat(), "due": f["due_on"],
            "on_time": day.isoformat() <= f["due_on"]}


# ------------------------------------------------------------------ 依申请公开
@dataclass(frozen=True)
class RequestView:
    id: int
    applicant: str
    content: str
    channel: str
    received_on: date
    receipt_on: date
    section: str
    clock: rules.RequestClock
    reply_type: str | None
    reply_reason: str | None
    reply_organ: str | None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state_zh(self) -> str:
        return rules.STATE_ZH[self.clock.state]

    def as_json(self) -> dict[str, Any]:
        c = self.clock

        def wd(x: WorkDate | None) -> str | None:
            return x.date.isoformat() if x else None

        return {
            "id": self.id, "applicant": self.applicant, "content": self.content,
            "channel": self.channel, "received_on": self.received_on.isoformat(),
            "receipt_on": self.receipt_on.isoformat(), "section": self.section,
            "state": c.state.value, "state_zh": self.state_zh, "due": wd(c.due),
            "provisional": bool(c.due and c.due.provisional), "budget": c.budget,
            "used": c.used, "extended": c.extended, "supplement_by": wd(c.supplement_by),
            "consult_until": wd(c.consult_until),
            "restarted_on": c.restarted_on.isoformat() if c.restarted_on else None,
            "answered_on": c.answered_on.isoformat() if c.answered_on else None,
            "on_time": c.on_time, "reply_type": self.reply_type,
            "reply_reason": self.reply_reason, "reply_organ": self.reply_organ,
            "events": self.events,
        }


def _events_of(rows: Sequence[Row]) -> list[rules.RequestEvent]:
    return [
        rules.RequestEvent(rules.RequestEventKind(r["kind"]), date.fromisoformat(r["on_date"]),
                           r["workdays"])
        for r in rows
    ]


def _request_view(req: Row, events: Sequence[Row], clock: rules.RequestClock) -> RequestView:
    return RequestView(
        id=req["id"], applicant=req["applicant"], content=req["content"],
        channel=req["channel"], received_on=date.fromisoformat(req["received_on"]),
        receipt_on=date.fromisoformat(req["receipt_on"]), section=req["section"], clock=clock,
        reply_type=req["reply_type"], reply_reason=req["reply_reason"],
        reply_organ=req["reply_organ"],
        events=[{"kind": e["kind"], "kind_zh": rules.EVENT_ZH[rules.RequestEventKind(e["kind"])],
                 "on": e["on_date"], "workdays": e["workdays"], "reason": e["reason"],
                 "note": e["note"], "actor": e["actor"]} for e in events],
    )


def _request_text(req: Row, cal: WorkCalendar, due: WorkDate) -> TextFn:
    def text(pd: rules.PlannedDay, day: date) -> str:
        head = "【依申请公开·逾期】" if day > due.date else "【依申请公开提醒】"
        return (f"{head}第 {req['id']} 号政府信息公开申请（申请人：{req['applicant']}）"
                f"须答复（条例第三十三条）：{when_text(due, day, cal)}。")

    return text


async def _plan_request(
    ctx: Context, uow: UnitOfWork, req: Row, clock: rules.RequestClock, now: datetime
) -> None:
    subject = f"request:{req['id']}"
    cal = work_calendar(ctx.settings)
    target = f"section:{req['section']}"
    wanted: list[repo.Wanted] = []
    if clock.state is rules.RequestState.RUNNING and clock.due is not None:
        wanted = plan_for_due(ctx.settings, cal, subject=subject, due=clock.due,
                              targets=lambda _pd: [target], text=_request_text(req, cal, clock.due),
                              now=now)
    elif clock.state is rules.RequestState.CONSULTING and clock.consult_until is not None:
        until = clock.consult_until
        at = max(remind_at(ctx.settings, until.date), now)
        wanted = [repo.Wanted(
            f"{subject}|consult|{until.date.isoformat()}|{target}", at, target, "consult",
            f"【依申请公开】第 {req['id']} 号申请征求第三方意见的 15 个工作日"
            f"于 {until.label()} 届满；第三方逾期未提出意见的，"
            "由本机关依照条例决定是否公开（条例第三十二条）。",
        )]
    await repo.replan(uow, subject, wanted, now)


def _clock(ctx: Context, req: Row, events: Sequence[Row]) -> rules.RequestClock:
    return rules.request_clock(date.fromisoformat(req["receipt_on"]), _events_of(events),
                               work_calendar(ctx.settings))


def _state_values(clock: rules.RequestClock, now: datetime) -> dict[str, Any]:
    return {
        "state": clock.state.value,
        "due_on": clock.due.date.isoformat() if clock.due else None,
        "provisional": int(bool(clock.due and clock.due.provisional)),
        "answered_on": clock.answered_on.isoformat() if clock.answered_on else None,
        "on_time": None if clock.on_time is None else int(clock.on_time),
        "updated_at": iso(now),
    }


def parse_channel(text: str) -> rules.RequestChannel:
    try:
        return rules.RequestChannel(text.strip())
    except ValueError:
        choices = "、".join(c.value for c in rules.RequestChannel)
        raise InvalidInputError(
            f"未知提交方式 {text!r}，应为：{choices}", field="channel"
        ) from None


async def add_request(
    ctx: Context,
    *,
    applicant: str,
    content: str,
    channel: str,
    received: date,
    confirmed: date | None = None,
    section: str | None = None,
    actor: str = ACTOR,
) -> RequestView:
    """Register a 依申请公开 application; its receipt day follows Art. 31 by channel."""
    if not applicant.strip():
        raise InvalidInputError("须填写申请人", field="applicant")
    if not content.strip():
        raise InvalidInputError("须填写申请内容", field="content")
    ch = parse_channel(channel)
    now = ctx.clock()
    today = local_date(ctx.settings, now)
    receipt = rules.receipt_date(ch, received, confirmed)
    _not_future(received, today, "收到日期")
    _not_future(receipt, today, "确认日期")
    owner = (section or "").strip() or disclosure_section(ctx.settings)
    known = _sections(ctx.settings)
    if owner not in known:
        raise InvalidInputError(
            f"未知的承办科室 {owner!r}，可选：{'、'.join(sorted(known))}", field="section")
    clock = rules.request_clock(receipt, [], work_calendar(ctx.settings))
    values = {
        "applicant": applicant.strip(), "content": content.strip(), "channel": ch.value,
        "received_on": received.isoformat(),
        "confirmed_on": confirmed.isoformat() if confirmed else None,
        "receipt_on": receipt.isoformat(), "section": owner,
        "created_at": iso(now),
        "created_by": actor, **_state_values(clock, now),
    }
    async with ctx.db.unit_of_work() as uow:
        request_id = await repo.insert_request(uow, values)
        req = await repo.get_request(uow, request_id)
        assert req is not None
        await _plan_request(ctx, uow, req, clock, now)
        await audit.append(uow, at=now, actor=actor, action="request.add",
                           subject=f"request:{request_id}",
                           detail={"applicant": applicant, "channel": ch.value,
                                   "receipt": receipt.isoformat(),
                                   "due": clock.due.date.isoformat() if clock.due else None})
        await uow.commit()
    return _request_view(req, [], clock)


async def request_event(
    ctx: Context,
    request_id: int,
    kind: rules.RequestEventKind,
    *,
    on: date | None = None,
    workdays: int | None = None,
    reason: str | None = None,
    note: str | None = None,
    reply: rules.ReplyType | None = None,
    organ: str | None = None,
    actor: str = ACTOR,
) -> RequestView:
    """Add an event to a request, replay the history (refusing what the law forbids),
    store the new state and due day, and replan its reminders — one transaction."""
    now = ctx.clock()
    today = local_date(ctx.settings, now)
    day = on or today
    _not_future(day, today, "日期")
    if kind is rules.RequestEventKind.EXTEND and not (reason and reason.strip()):
        raise InvalidInputError("延长答复期限须说明理由", field="reason")
    if kind is rules.RequestEventKind.ANSWER:
        if reply is None:
            raise InvalidInputError("须指定答复类型", field="type")
        rules.check_reply(reply, reason=reason, organ=organ,
                          withhold_reasons=ctx.settings.disclosure.withhold_reasons)
    async with ctx.db.unit_of_work() as uow:
        req = await repo.get_request(uow, request_id)
        if req is None:
            raise NotFoundError("依申请公开申请", str(request_id))
        old = await repo.request_events(uow, request_id)
        new = rules.RequestEvent(kind, day, workdays)
        clock = rules.request_clock(date.fromisoformat(req["receipt_on"]),
                                    [*_events_of(old), new], work_calendar(ctx.settings))
        await repo.add_request_event(uow, request_id=request_id, kind=kind.value, on=day,
                                     workdays=workdays, reason=reason, note=note, at=now,
                                     actor=actor)
        values = _state_values(clock, now)
        if reply is not None:
            values |= {"reply_type": reply.value, "reply_reason": reason,
                       "reply_organ": organ.strip() if organ else None}
        await repo.update_request(uow, request_id, values)
        req = await repo.get_request(uow, request_id)
        assert req is not None
        await _plan_request(ctx, uow, req, clock, now)
        if kind is rules.RequestEventKind.EXTEND:
            await _extension_notice(ctx, uow, req, clock, reason or "", now)
        await audit.append(uow, at=now, actor=actor, action=f"request.{kind.value}",
                           subject=f"request:{request_id}",
                           detail={"on": day.isoformat(), "workdays": workdays, "reason": reason,
                                   "reply": reply.value if reply else None, "organ": organ,
                                   "due": clock.due.date.isoformat() if clock.due else None})
        events = await repo.request_events(uow, request_id)
        await uow.commit()
    return _request_view(req, events, clock)


async def _extension_notice(
    ctx: Context, uow: UnitOfWork, req: Row, clock: rules.RequestClock, reason: str,
    now: datetime,
) -> None:
    """Art. 33: the applicant must be told of an extension — a notice to the section."""
    due = clock.due.label() if clock.due else "征求意见结束后顺延计算的日期"
    await repo.add_notice(
        uow, dedup=f"request:{req['id']}|extend-notice", due_at=now,
        target=f"section:{req['section']}", subject=f"request:{req['id']}", kind="notice",
        text=(f"【依申请公开】第 {req['id']} 号申请（申请人：{req['applicant']}）已延长答复期限 "
              f"{clock.extended} 个工作日，至 {due}；理由：{reason}。"
              "请告知申请人（条例第三十三条）。"),
        now=now,
    )


async def show_request(ctx: Context, request_id: int) -> RequestView:
    async with ctx.db.reader() as r:
        req = await repo.get_request(r, request_id)
        if req is None:
            raise NotFoundError("依申请公开申请", str(request_id))
        events = await repo.request_events(r, request_id)
    return _request_view(req, events, _clock(ctx, req, events))


async def list_requests(ctx: Context, *, open_only: bool = False) -> list[RequestView]:
    async with ctx.db.reader() as r:
        rows = await repo.requests(r, open_only=open_only)
        out = []
        for req in rows:
            events = await repo.request_events(r, req["id"])
            out.append(_request_view(req, events, _clock(ctx, req, events)))
    return out


# ------------------------------------------------------------------ sync
@dataclass(frozen=True)
class SyncResult:
    dispatches: int
    items: int
    recomputed: int


async def _provisional_now_known(ctx: Context, r: Reader) -> tuple[list[int], list[int], list[int]]:
    """Provisional due days whose year the calendar now knows (a year added in config)."""
    cal = work_calendar(ctx.settings)
    tasks, items, reqs = await repo.provisional_rows(r)

    def known(row: Row) -> bool:
        return cal.knows(date.fromisoformat(row["due_on"]).year)

    return ([row["dispatch_id"] for row in tasks if known(row)],
            [row["item_id"] for row in items if known(row)],
            [row["id"] for row in reqs if known(row)])


async def _retrack_request(ctx: Context, uow: UnitOfWork, request_id: int, now: datetime) -> None:
    req = await repo.get_request(uow, request_id)
    if req is None:
        return
    clock = _clock(ctx, req, await repo.request_events(uow, request_id))
    await repo.update_request(uow, request_id, _state_values(clock, now))
    await _plan_request(ctx, uow, req, clock, now)


async def sync(ctx: Context, now: datetime | None = None) -> SyncResult:
    """Reconcile dispatch records and registered 办件 with their deadlines and reminders,
    and recompute provisional due days whose year has become known."""
    at = now or ctx.clock()
    async with ctx.db.reader() as r:
        dispatch_ids = [row["id"] for row in await repo.dispatches_to_sync(r)]
        item_ids = [row["id"] for row in await repo.items_to_follow(r)]
        item_ids += [row["item_id"] for row in await repo.followups_orphaned(r)]
        known_tasks, known_items, known_reqs = await _provisional_now_known(ctx, r)
    recomputed = len(known_tasks) + len(known_items) + len(known_reqs)
    if not (dispatch_ids or item_ids or recomputed):
        return SyncResult(0, 0, 0)
    async with ctx.db.unit_of_work() as uow:
        for dispatch_id in dict.fromkeys([*dispatch_ids, *known_tasks]):
            await track_dispatch(ctx, uow, dispatch_id, at)
        for item_id in dict.fromkeys([*item_ids, *known_items]):
            await track_item(ctx, uow, item_id, at)
        for request_id in known_reqs:
            await _retrack_request(ctx, uow, request_id, at)
        await uow.commit()
    return SyncResult(len(dispatch_ids), len(item_ids), recomputed)


# ------------------------------------------------------------------ overdue
@dataclass(frozen=True)
class OverdueEntry:
    """Something late: a 办件, a 主动公开 record or a 依申请公开 request."""

    kind: str  # "办件" | "主动公开" | "依申请公开"
    ref: str
    title: str
    due: WorkDate
    days_late: int
    owner: str  # section, or the leaders of a 办件
    subject: str

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "title": self.title,
                "due": self.due.date.isoformat(), "provisional": self.due.provisional,
                "days_late": self.days_late, "owner": self.owner, "subject": self.subject}


@dataclass(frozen=True)
class OverdueReport:
    today: date
    entries: list[OverdueEntry]

    def by_owner(self) -> dict[str, list[OverdueEntry]]:
        groups: dict[str, list[OverdueEntry]] = {}
        for e in self.entries:
            groups.setdefault(e.owner, []).append(e)
        return groups

    def count(self, kind: str) -> int:
        return sum(1 for e in self.entries if e.kind == kind)

    def as_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(), "total": len(self.entries),
            "counts": {k: self.count(k) for k in ("办件", "主动公开", "依申请公开")},
            "entries": [e.as_json() for e in self.entries],
            "by_owner": {k: [e.ref for e in v] for k, v in self.by_owner().items()},
        }

    def text(self) -> str:
        """Chinese text for staff (CLI and /overdue)."""
        if not self.entries:
            return f"截至 {self.today.isoformat()}，没有逾期事项。"
        head = (f"截至 {self.today.isoformat()}，逾期事项 {len(self.entries)} 件"
                f"（办件 {self.count('办件')}，主动公开 {self.count('主动公开')}，"
                f"依申请公开 {self.count('依申请公开')}）：")
        lines = [head]
        for owner, entries in self.by_owner().items():
            lines.append(f"【{owner}】{len(entries)} 件")
            lines.extend(
                f"  · {e.kind} {e.ref}《{e.title}》期限 {e.due.label()}，"
                f"逾期 {e.days_late} 个工作日"
                for e in entries
            )
        return "\n".join(lines)


async def overdue(ctx: Context, today: date | None = None) -> OverdueReport:
    """Everything past its deadline on `today` (default: the office's today), by owner."""
    await sync(ctx)
    day = today or today_of(ctx)
    cal = work_calendar(ctx.settings)
    entries: list[OverdueEntry] = []

    def late(due: WorkDate) -> int:
        return cal.workdays_between(due.date, day)

    async with ctx.db.reader() as r:
        followups = await repo.open_followups(r)
        tasks = await repo.tasks(r, open_only=True)
        reqs = await repo.requests(r, open_only=True)
    for f in followups:
        due = _wd(f["due_on"], f["provisional"])
        if due is None or due.date >= day:
            continue
        leaders = "、".join(item_leaders(ctx.settings, f)) or "未分工"
        entries.append(OverdueEntry("办件", f["number"] or f"收件{f['item_id']}",
                                    chat_title(ctx.settings, f), due, late(due), leaders,
                                    f"item:{f['item_id']}"))
    for t in tasks:
        due = _wd(t["due_on"], t["provisional"])
        if due is None or due.date >= day:
            continue
        entries.append(OverdueEntry("主动公开", t["number"], t["title"], due, late(due),
                                    t["section"], f"disclosure:{t['id']}"))
    for q in reqs:
        due = _wd(q["due_on"], q["provisional"])
        if due is None or due.date >= day or q["state"] == "supplement":
            continue
        entries.append(OverdueEntry("依申请公开", f"第{q['id']}号申请",
                                    f"{q['applicant']}：{q['content'][:30]}", due, late(due),
                                    q["section"], f"request:{q['id']}"))
    entries.sort(key=lambda e: (e.owner, e.due.date, e.ref))
    return OverdueReport(day, entries)
