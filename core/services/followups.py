"""催办 of 办件 (DOMAIN §6): each registered 办件 has a handling deadline (its own 于…前,
or the configured period by urgency) and reminders to the registry and its leaders;
办结 closes it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from core import deadline_rules as rules
from core import reminder_plan as plan
from core.calendar import WorkCalendar, WorkDate
from core.config import Settings
from core.errors import ConflictError, InvalidInputError
from core.model import Kind, Outcome
from core.routing import RoutingItem, route
from core.services.context import Context
from core.services.dates import ACTOR, not_future
from core.services.registry import resolve_ref
from core.storage import audit
from core.storage import followups as repo
from core.storage import reminders as reminders_repo
from core.storage.db import Row, UnitOfWork
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


def _item_text(settings: Settings, item: Row, cal: WorkCalendar, due: WorkDate) -> plan.TextFn:
    def text(pd: plan.PlannedDay, day: date) -> str:
        head = "【催办·逾期】" if day > due.date else "【催办】"
        ref = item["number"] or f"收件 {item['id']}"
        sender = f"（{item['sender']}）" if item["sender"] else ""
        title = item_title(settings, item)
        return f"{head}办件 {ref}《{title}》{sender}：{plan.when_text(due, day, cal)}。"

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
            await reminders_repo.cancel_planned(uow, subject, now)
        return
    if f is not None and f["status"] == "done":
        return
    cal = plan.work_calendar(ctx.settings)
    registered = item["registered_at"] or item["received_at"]
    registered_on = plan.local_date(ctx.settings, datetime.fromisoformat(registered))
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

    def targets(pd: plan.PlannedDay) -> list[str]:
        return [plan.REGISTRY] if pd.kind == "before" else [plan.REGISTRY, *leaders]

    wanted = plan.plan_for_due(ctx.settings, cal, subject=subject, due=due.due, targets=targets,
                          text=_item_text(ctx.settings, item, cal, due.due), now=now)
    await reminders_repo.replan(uow, subject, wanted, now)
    if f is None:
        await audit.append(uow, at=now, actor="system", action="item.followup",
                           subject=subject,
                           detail={"due": due.due.date.isoformat(), "source": due.source})


async def close_item(
    ctx: Context, *, ref: str, on: date | None = None, actor: str = ACTOR
) -> dict[str, Any]:
    """办结: a 办件 is finished; its 催办 stops."""
    now = ctx.clock()
    today = plan.local_date(ctx.settings, now)
    day = on or today
    not_future(day, today, "办结日期")
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
        await reminders_repo.cancel_planned(uow, f"item:{item['id']}", now)
        await audit.append(uow, at=now, actor=actor, action="item.done",
                           subject=f"item:{item['id']}", detail={"on": day.isoformat()})
        await uow.commit()
    return {"item_id": item["id"], "done_on": day.isoformat(), "due": f["due_on"],
            "on_time": day.isoformat() <= f["due_on"]}

