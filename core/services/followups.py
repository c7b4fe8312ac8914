"""催办 of 办件 (DOMAIN §6): each registered 办件 has a handling deadline (its own 于…前,
or the configured period by urgency) and reminders to the registry and its leaders;
办结 closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core import deadline_rules as rules
from core import handling as flow_rules
from core import reminder_plan as plan
from core.calendar import WorkCalendar, WorkDate
from core.config import Settings
from core.errors import ConflictError, InvalidInputError, PermissionDeniedError
from core.handling import Step
from core.limits import MAX_INSTRUCTION, required_text
from core.model import Kind, Outcome
from core.routing import RoutingItem, is_urgent, route
from core.services.context import Context
from core.services.dates import ACTOR, not_future
from core.services.notify import item_label, notify_staff, registry_name
from core.services.registry import resolve_ref
from core.storage import audit
from core.storage import followups as repo
from core.storage import handling as handling_repo
from core.storage import reminders as reminders_repo
from core.storage.db import Reader, Row, UnitOfWork
from core.visibility import Facts, Policy, Viewer, chat_title, shown


def item_leaders(settings: Settings, item: Row) -> list[str]:
    """The leaders a 办件 goes to by 分工 (the routing rule), by name."""
    r = route(
        RoutingItem(kind=Kind.BAN, outcome=Outcome.REGISTER, sender=item["sender"],
                    title=item["title"]),
        settings,
    )
    return [x.name for x in r.leaders]


def item_title(settings: Settings, item: Row) -> str:
    """A 办件's title as a reminder or list line may show it (core.visibility decides)."""
    seen = shown(Facts(item["outcome"], item["secrecy"]), Viewer.STAFF, Policy.of(settings))
    return chat_title(item["title"], item["secrecy"], seen)


_HEAD = {"before": "【催办】", "due": "【催办】", "overdue": "【催办·逾期】",
         "escalate": "【催办·逾期升级】"}


def _item_text(settings: Settings, item: Row, cal: WorkCalendar, due: WorkDate,
               holder: str | None) -> plan.TextFn:
    def text(pd: plan.PlannedDay, day: date) -> str:
        head = _HEAD[pd.kind] if day > due.date or pd.kind == "escalate" else "【催办】"
        ref = item["number"] or f"收件 {item['id']}"
        sender = f"（{item['sender']}）" if item["sender"] else ""
        title = item_title(settings, item)
        who = f"，{holder}" if holder else ""
        return f"{head}办件 {ref}《{title}》{sender}{who}：{plan.when_text(due, day, cal)}。"

    return text


async def ban_number(conn: Reader | UnitOfWork, item_id: int) -> str | None:
    """The active 办件 number of an item (None when it has none)."""
    item = await repo.item_for_followup(conn, item_id)
    return None if item is None else item["number"]


@dataclass(frozen=True)
class _Flow:
    """Who 催办 goes to, by the item's step in the handling flow."""

    step: str | None
    units: list[str]
    leaders: list[str]
    supervised: bool
    holder: str | None


async def _flow(uow: UnitOfWork, settings: Settings, item: Row) -> _Flow:
    row = await handling_repo.get(uow, item["id"])
    routed = item_leaders(settings, item)
    if row is None:
        return _Flow(None, [], routed, False, None)
    units = [a["unit"] for a in await handling_repo.assignments(uow, item["id"])]
    proposal = handling_repo.proposal_of(row)
    chosen = [proposal.leader] if proposal and proposal.leader else routed
    holder = None
    if row["step"] == Step.HANDLING and units:
        holder = "承办单位 " + "、".join(
            f"{u}（{'主办' if i == 0 else '协办'}）" for i, u in enumerate(units))
    elif row["step"] == Step.INSTRUCT:
        holder = "待" + "、".join(chosen) + "批示"
    return _Flow(row["step"], units, chosen, bool(row["supervised"]), holder)


def _targets(settings: Settings, flow: _Flow) -> Callable[[plan.PlannedDay], list[str]]:
    """Reminders go to the current holder: the 承办单位 while 承办中, the leader while
    待批示; past the due day they escalate to the registry, then to the leader; a 督办
    item's go to the supervisor (秘书长) as well. Items outside the flow keep the plain
    plan: the registry before the day, registry and leaders from it."""
    leaders = [f"leader:{name}" for name in flow.leaders]
    d = settings.deadlines

    def targets(pd: plan.PlannedDay) -> list[str]:
        if flow.step is None:
            return [plan.REGISTRY] if pd.kind == "before" else [plan.REGISTRY, *leaders]
        holder = ([f"section:{u}" for u in flow.units] if flow.step == Step.HANDLING
                  else leaders if flow.step == Step.INSTRUCT else [plan.REGISTRY])
        out = list(holder)
        late = -pd.offset if pd.kind in ("overdue", "escalate") else 0
        if d.escalate_registry_days and late >= d.escalate_registry_days:
            out.append(plan.REGISTRY)
        if d.escalate_leader_days and late >= d.escalate_leader_days:
            out += leaders
        if flow.supervised and pd.kind != "before":
            out.append(f"leader:{d.supervisor}")
        return list(dict.fromkeys(out))

    return targets


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
            await reminders_repo.cancel_planned(uow, subject, now)
        return
    if f is not None and f["status"] == "done":
        return
    cal = plan.work_calendar(ctx.settings)
    registered = item["registered_at"] or item["received_at"]
    registered_on = plan.local_date(ctx.settings, datetime.fromisoformat(registered))
    assigned = await handling_repo.assignments(uow, item_id)
    if assigned:  # the 办理期限 given when it was handed on (主办's)
        day = date.fromisoformat(assigned[0]["due_on"])
        due_day, source = WorkDate(day, not cal.knows(day.year)), "assigned"
    else:
        due = rules.item_due(
            deadline=item["deadline"], registered_on=registered_on, urgency=item["urgency"],
            defaults=ctx.settings.deadlines.default_workdays, cal=cal,
        )
        due_day, source = due.due, due.source
    await repo.upsert_followup(
        uow,
        repo.Followup(item_id, registered_on, due_day.date, due_day.provisional, source,
                      item["deadline"], item["urgency"]),
        now,
    )
    flow = await _flow(uow, ctx.settings, item)
    d = ctx.settings.deadlines
    escalate = () if flow.step is None else (d.escalate_registry_days, d.escalate_leader_days)
    wanted = plan.plan_for_due(ctx.settings, cal, subject=subject, due=due_day,
                               targets=_targets(ctx.settings, flow),
                               text=_item_text(ctx.settings, item, cal, due_day, flow.holder),
                               now=now, escalate=escalate,
                               urgent=is_urgent(item["urgency"]))
    await reminders_repo.replan(uow, subject, wanted, now)
    if f is None:
        await audit.append(uow, at=now, actor="system", action="item.followup",
                           subject=subject,
                           detail={"due": due_day.date.isoformat(), "source": source})


async def close_item(
    ctx: Context, *, ref: str, on: date | None = None, actor: str = ACTOR,
    result: str | None = None, unit: str | None = None,
) -> dict[str, Any]:
    """办结: a 办件 is finished with its result; its 催办 stops; when its sender asked for
    an answer (a 请示, a 函 that asks), the registry is told a 批复/复函 is owed.
    `unit`: reported by that 承办单位, which must be the item's 主办."""
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    day = on or today
    not_future(day, today, "办结日期")
    text = required_text(result, "办理结果", field="result", limit=MAX_INSTRUCTION) \
        if result is not None else None
    async with ctx.db.unit_of_work() as uow:
        item = await resolve_ref(uow, ctx, ref)
        done = await close_in(ctx, uow, item, day=day, result=text, unit=unit, actor=actor,
                              now=now)
        await uow.commit()
    return done


async def close_in(
    ctx: Context, uow: UnitOfWork, item: Row, *, day: date, result: str | None,
    unit: str | None, actor: str, now: datetime,
) -> dict[str, Any]:
    """办结 inside `uow` (`result` already checked): see close_item."""
    text = result
    if item["kind"] != Kind.BAN.value or item["outcome"] != Outcome.REGISTER.value:
        raise ConflictError(f"收件 {item['id']} 不是已登记的办件，无需办结")
    if unit is not None:
        lead = (await handling_repo.assignments(uow, item["id"]))[:1]
        if not lead or lead[0]["unit"] != unit:
            raise PermissionDeniedError(f"此件未交{unit}主办，不能由{unit}报办结",
                                        actor=actor)
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
    await reminders_repo.cancel_planned(uow, f"item:{item['id']}", now)
    owed = flow_rules.reply_owed(item["doc_type"], item["title"], item["rule"])
    registry = registry_name(ctx.settings)
    await handling_repo.ensure(uow, item["id"], step=Step.DONE, holder=None, at=now)
    await handling_repo.set_done(uow, item["id"], result=text, by=actor,
                                 reply_owed=owed, holder=registry if owed else None,
                                 at=now)
    await audit.append(uow, at=now, actor=actor, action="item.done",
                       subject=f"item:{item['id']}",
                       detail={"on": day.isoformat(), "result": text, "reply_owed": owed})
    number = item_label(ctx.settings, item, await ban_number(uow, item["id"]))
    lines = [f"【办结】{number}", f"办理结果：{text}" if text else "（未填办理结果）"]
    if unit is not None:
        lines.insert(1, f"由{unit}报告")
    if owed:
        lines.append(f"来文单位 {item['sender'] or '（未知）'} 请求答复：请拟{owed}，"
                     f"取号时用 --reply-to {item['id']} 关联本件。")
    await notify_staff(ctx, uow, at=now, item_id=item["id"], text="\n".join(lines))
    return {"item_id": item["id"], "done_on": day.isoformat(), "due": f["due_on"],
            "on_time": day.isoformat() <= f["due_on"], "result": text, "reply_owed": owed}
