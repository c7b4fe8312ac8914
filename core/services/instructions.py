"""批示: a leader's instruction on an item routed to them, recorded verbatim; a 阅件 becomes
a 办件 with the next 办件 number and registry staff are told (one transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.config import Leader, Settings
from core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from core.handling import proposal_summary
from core.limits import MAX_INSTRUCTION, required_text
from core.permissions import leader_by_chat
from core.services import handling, registry
from core.services.circulation import acknowledge
from core.services.context import Context
from core.services.notify import item_label, local_time, notify_staff
from core.services.push import ROLE_LEADER, ROLE_SUBSCRIBER
from core.storage import audit, outbox, registers
from core.storage import chat as repo
from core.storage import items as items_repo
from core.storage.db import Reader, UnitOfWork


async def _sent_for_instruction(conn: Reader | UnitOfWork, item_id: int, chat_id: int) -> bool:
    """The item was pushed to this chat as to a leader (by 分工, 传阅 or subscription), not
    only for the duty list to acknowledge or the registry to know."""
    for role in (ROLE_LEADER, ROLE_SUBSCRIBER):
        if chat_id in await outbox.push_targets(conn, item_id, role):
            return True
    return False


def _leader(settings: Settings, chat_id: int) -> Leader:
    leader = leader_by_chat(settings, chat_id)
    if leader is None:
        raise PermissionDeniedError("只有领导可以批示", actor=f"chat:{chat_id}")
    return leader


async def require_instructor(ctx: Context, item_id: int, chat_id: int) -> None:
    """Refuse unless a leader may write a 批示 on this item (DOMAIN §7: only a leader, only
    on items routed to them as a leader)."""
    leader = _leader(ctx.settings, chat_id)
    async with ctx.db.reader() as r:
        if not await _sent_for_instruction(r, item_id, chat_id):
            raise PermissionDeniedError("此件未送您阅批，不能批示", actor=leader.name)


async def item_of_ref(ctx: Context, ref: str) -> int:
    """The item a 批示 names by 收件序号 or register number (NotFoundError, InvalidInputError
    when it names none)."""
    async with ctx.db.reader() as r:
        item = await registry.resolve_ref(r, ctx, ref)
    return int(item["id"])


@dataclass(frozen=True)
class Instructed:
    item_id: int
    seq: int
    leader: str
    #: the item's register number after the 批示 (the new 办件 number when converted)
    number: str | None
    #: the 阅件 number it had before conversion, None when it was not converted
    converted_from: str | None
    label: str
    duplicate: bool = False


async def instruct(
    ctx: Context, *, item_id: int, chat_id: int, text: str, source_message: int | None = None,
    accepts_proposal: bool = False,
) -> Instructed:
    """Record a leader's 批示 verbatim; a 阅件 becomes a 办件 with the next 办件 number, and
    registry staff are told to route it to the handling unit (one transaction)."""
    leader = _leader(ctx.settings, chat_id)
    if not text.strip():
        raise InvalidInputError("批示内容为空", field="text")
    required_text(text, "批示", field="text", limit=MAX_INSTRUCTION)
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        item = await items_repo.get_item(uow, item_id)
        if item is None:
            raise NotFoundError("收件", str(item_id))
        if not await _sent_for_instruction(uow, item_id, chat_id):
            raise PermissionDeniedError("此件未送您阅批，不能批示", actor=leader.name)
        if source_message is not None:
            seen = await repo.instruction_from(uow, chat_id, source_message)
            if seen is not None:
                return Instructed(item_id, seen["seq"], leader.name, seen["number"],
                                  seen["converted_from"], item_label(ctx.settings, item,
                                                                     seen["number"]),
                                  duplicate=True)
        before = await registers.active_number(uow, item_id)
        actor = f"leader:{leader.name}"
        converted = await registry.convert_to_ban(ctx, uow, item=item, actor=actor, at=now)
        number = converted or before
        seq = await repo.add_instruction(
            uow, item_id=item_id, leader=leader.name, chat_id=chat_id, text=text, at=now,
            number=number, converted_from=before if converted else None,
            source_message=source_message,
        )
        await repo.add_read(uow, item_id=item_id, chat_id=chat_id, reader=leader.name, at=now,
                            how="instructed")
        await acknowledge(ctx, uow, item, chat_id=chat_id, by=leader.name, at=now,
                           number=number)
        converted_item = await items_repo.get_item(uow, item_id) if converted else item
        assert converted_item is not None
        await handling.instructed(uow, ctx.settings, converted_item, leader=leader.name,
                                  accepted=accepts_proposal, at=now)
        await audit.append(
            uow, at=now, actor=actor, action="instruct", subject=f"item:{item_id}",
            detail={"seq": seq, "text": text, "number": number,
                    "converted_from": before if converted else None},
        )
        label = item_label(ctx.settings, item, number)
        await notify_staff(
            ctx, uow, at=now, item_id=item_id,
            text=_instruction_notice(ctx.settings, leader.name, label, text, now, seq,
                                     before if converted else None, number),
        )
        await uow.commit()
    return Instructed(item_id, seq, leader.name, number, before if converted else None, label)


def _instruction_notice(
    settings: Settings, leader: str, label: str, text: str, at: datetime, seq: int,
    converted_from: str | None, number: str | None,
) -> str:
    lines = [f"【领导批示】{label}", f"{leader}（{local_time(settings, at)}，第{seq}条批示）：",
             text]
    if converted_from:
        lines.append(f"阅件 {converted_from} 因领导批示转为办件 {number}。")
    lines.append(f"请按批示转承办单位办理（jiyao assign {number or ''} --to 单位 --due 日期）。")
    return "\n".join(lines)


async def recorded_from(ctx: Context, *, chat_id: int, source_message: int) -> Instructed | None:
    """The 批示 already recorded from this chat message (a platform's callback tried again
    after its 批示 was recorded and its answer failed), as `instruct` returns a duplicate."""
    async with ctx.db.unit_of_work() as uow:  # read only: rolled back
        seen = await repo.instruction_from(uow, chat_id, source_message)
        item = await items_repo.get_item(uow, int(seen["item_id"])) if seen else None
    if seen is None or item is None:
        return None
    return Instructed(int(seen["item_id"]), seen["seq"], seen["leader"], seen["number"],
                      seen["converted_from"], item_label(ctx.settings, item, seen["number"]),
                      duplicate=True)


#: the 批示 recorded when a leader accepts the registry's 拟办 with one button
ACCEPTED = "同意拟办意见：{text}"


async def accept_proposal(
    ctx: Context, *, item_id: int, chat_id: int, source_message: int | None = None
) -> Instructed:
    """同意拟办: the leader's 批示 is the 拟办意见 verbatim as the push showed it (with the
    proposed 承办单位 and 期限), marked accepted."""
    async with ctx.db.reader() as r:
        proposal = await handling.proposal_of(r, item_id)
    if proposal is None:
        raise NotFoundError("拟办意见", str(item_id))
    return await instruct(ctx, item_id=item_id, chat_id=chat_id,
                          text=ACCEPTED.format(text=proposal_summary(
                              proposal.text, proposal.units, proposal.due)),
                          source_message=source_message, accepts_proposal=True)
