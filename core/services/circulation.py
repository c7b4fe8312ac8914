"""已阅, 传阅 and 特急: reading marks, a 内刊 passed from leader to leader, and the escalation
of urgent items nobody acknowledged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import parse_iso
from core.errors import ConflictError, NotFoundError, PermissionDeniedError
from core.permissions import chat_name
from core.routing import duty_chats, is_urgent
from core.services.context import Context
from core.services.notify import ACTOR_BOT, item_label, local_time, notify_staff
from core.services.push import PURPOSE_CIRCULATE, PURPOSE_URGENT, ROLE_DUTY, ROLE_LEADER, queue_push
from core.storage import audit, outbox, registers
from core.storage import chat as repo
from core.storage import items as items_repo
from core.storage.db import Row, UnitOfWork


@dataclass(frozen=True)
class ReadResult:
    item_id: int
    already: bool = False
    #: 内刊: the leader it was passed to, or "" when the 传阅 is finished
    passed_to: str | None = None
    acknowledged: bool = False


async def acknowledge(
    ctx: Context, uow: UnitOfWork, item: Row, *, chat_id: int, by: str, at: datetime,
    number: str | None,
) -> bool:
    """The first 已阅 of a watched 特急 item stops its escalation; the registry is told."""
    if not await repo.acknowledge_urgent(uow, item["id"], by=by, chat_id=chat_id, at=at):
        return False
    watch = await repo.urgent_of(uow, item["id"])
    started = parse_iso(watch["started_at"]) if watch else at
    minutes = max(0, int((at - started).total_seconds() // 60))
    await audit.append(
        uow, at=at, actor=by, action="urgent.ack", subject=f"item:{item['id']}",
        detail={"chat": chat_id, "after_minutes": minutes},
    )
    await notify_staff(
        ctx, uow, at=at, item_id=item["id"],
        text=(f"【{item['urgency'] or '特急'}件已确认】{item_label(ctx.settings, item, number)}"
              f"由 {by} 于 {local_time(ctx.settings, at)} 确认已阅（推送后 {minutes} 分钟）。"),
    )
    return True


async def _advance(
    ctx: Context, uow: UnitOfWork, item: Row, *, chat_id: int, status: str, at: datetime,
    number: str | None,
) -> str | None:
    """The current 传阅 holder is done: pass the 内刊 to the next leader (None: not theirs)."""
    rows = await repo.circulation_of(uow, item["id"])
    current = next((r for r in rows if r["status"] == "current"), None)
    if current is None or int(current["chat_id"]) != chat_id:
        return None
    await repo.finish_turn(uow, item["id"], current["position"], status, at)
    following = next((r for r in rows if r["status"] == "waiting"
                      and r["position"] > current["position"]), None)
    label = item_label(ctx.settings, item, number)
    if following is None:
        await audit.append(uow, at=at, actor=ACTOR_BOT, action="circulation.done",
                           subject=f"item:{item['id']}", detail={"last": current["leader"]})
        await notify_staff(
            ctx, uow, at=at, item_id=item["id"],
            text=f"【传阅完毕】内刊 {label} 已由 {len(rows)} 位领导传阅完毕，请收回归档。",
        )
        return ""
    await repo.begin_turn(uow, item["id"], following["position"], at)
    await queue_push(
        ctx.settings, uow, item_id=item["id"], chat_id=int(following["chat_id"]), role=ROLE_LEADER,
        purpose=PURPOSE_CIRCULATE, urgent=is_urgent(item["urgency"]), at=at,
    )
    await audit.append(
        uow, at=at, actor=current["leader"], action="circulation.pass",
        subject=f"item:{item['id']}",
        detail={"from": current["leader"], "to": following["leader"], "how": status,
                "position": following["position"]},
    )
    return str(following["leader"])


async def _read(ctx: Context, *, item_id: int, chat_id: int, how: str) -> ReadResult:
    now = ctx.clock()
    name = chat_name(ctx.settings, chat_id)
    async with ctx.db.unit_of_work() as uow:
        item = await items_repo.get_item(uow, item_id)
        if item is None:
            raise NotFoundError("收件", str(item_id))
        if not await repo.routed_to(uow, item_id, chat_id):
            raise PermissionDeniedError("此件未推送给您", actor=name)
        number = await registers.active_number(uow, item_id)
        if how == "passed":
            rows = await repo.circulation_of(uow, item_id)
            current = next((r for r in rows if r["status"] == "current"), None)
            if current is None or int(current["chat_id"]) != chat_id:
                raise ConflictError("此件已不在您处传阅")
        added = await repo.add_read(uow, item_id=item_id, chat_id=chat_id, reader=name, at=now,
                                    how=how)
        acknowledged = await acknowledge(ctx, uow, item, chat_id=chat_id, by=name, at=now,
                                          number=number)
        passed_to = await _advance(ctx, uow, item, chat_id=chat_id,
                                   status="passed" if how == "passed" else "read", at=now,
                                   number=number)
        if not added and passed_to is None and not acknowledged:
            return ReadResult(item_id, already=True)
        await audit.append(uow, at=now, actor=name, action=f"item.{how}",
                           subject=f"item:{item_id}", detail={"chat": chat_id})
        await uow.commit()
    return ReadResult(item_id, passed_to=passed_to, acknowledged=acknowledged)


async def mark_read(ctx: Context, *, item_id: int, chat_id: int) -> ReadResult:
    """已阅: recorded once; acknowledges a 特急 item; passes a 内刊 on to the next leader."""
    return await _read(ctx, item_id=item_id, chat_id=chat_id, how="read")


async def pass_on(ctx: Context, *, item_id: int, chat_id: int) -> ReadResult:
    """传下一位: the current holder passes a 内刊 on without marking it read."""
    return await _read(ctx, item_id=item_id, chat_id=chat_id, how="passed")


async def escalate_due(ctx: Context, now: datetime | None = None) -> int:
    """特急 items nobody acknowledged in time: send again to the leaders and down the duty
    list, one more step each time; when the list runs out, tell the registry and stop."""
    at = now or ctx.clock()
    async with ctx.db.reader() as r:
        due = await repo.urgent_due(r, at)
    ladder = duty_chats(ctx.settings)
    wait = timedelta(minutes=ctx.settings.bot.urgent_ack_minutes)
    stepped = 0
    for watch in due:
        level = int(watch["level"]) + 1
        exhausted = level > len(ladder)
        async with ctx.db.unit_of_work() as uow:
            if not await repo.step_urgent(uow, watch["item_id"], level=level,
                                          next_at=at + wait, closed=at if exhausted else None):
                continue
            item = await items_repo.get_item(uow, watch["item_id"])
            if item is None:
                continue
            leaders = await outbox.push_targets(uow, item["id"], ROLE_LEADER)
            targets = [(c, ROLE_LEADER) for c in leaders]
            targets += [(c, ROLE_DUTY) for c in ladder[:level] if c not in leaders]
            for chat_id, role in targets:
                await queue_push(
                    ctx.settings, uow, item_id=item["id"], chat_id=chat_id, role=role, urgent=True,
                    purpose=f"{PURPOSE_URGENT}{level}", at=at, escalation=level,
                )
            number = await registers.active_number(uow, item["id"])
            if exhausted:
                started = parse_iso(watch["started_at"])
                minutes = int((at - started).total_seconds() // 60)
                await notify_staff(
                    ctx, uow, at=at, item_id=item["id"],
                    text=(f"【{item['urgency'] or '特急'}件无人确认】"
                          f"{item_label(ctx.settings, item, number)} 推送 {minutes} 分钟后"
                          "仍无人点“已阅”，已提醒至值班表末位。请立即电话联系领导和值班人员。"),
                )
            await audit.append(
                uow, at=at, actor=ACTOR_BOT, action="urgent.escalate",
                subject=f"item:{item['id']}",
                detail={"level": level, "to": [chat_name(ctx.settings, c) for c, _ in targets],
                        "exhausted": exhausted},
            )
            await uow.commit()
            stepped += 1
    return stepped
