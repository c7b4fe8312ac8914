"""Use cases behind the chat bot: routing pushes, delivery records, 批示, 已阅, 传阅, 特急.

The bot (bot/) calls these; they never talk to Telegram. Messages to people are outbox
events written in the same transaction as the change that causes them:

- a `route` event (written by intake, or here after a manual registration) is expanded
  into one `push` event per chat (core.routing decides who), payload
  {"item_id", "purpose", "role", "urgent", "escalation"}; the bot renders each push
  from the item when it sends it;
- staff notices (批示 to forward, 特急 acknowledged, 传阅 finished…) are plain text events.

Delivery is at least once: `claim` marks an event in flight before the send, `record_sent`
records the sent message and marks the event done in one transaction. An event found
claimed again was possibly delivered already: its resend is marked (重发).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.clock import parse_iso
from core.config import Leader, Settings
from core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.model import Kind, Outcome
from core.routing import Route, RoutingItem, Subscription, duty_chats, is_urgent, registry_staff
from core.routing import route as decide_route
from core.services import registry
from core.services.context import Context
from core.storage import audit, outbox
from core.storage import chat as repo
from core.storage import items as items_repo
from core.storage.db import Reader, Row, UnitOfWork

log = logging.getLogger("jiyao.chat")

ACTOR_BOT = "bot"
#: push purposes: the first push, a 内刊 passed on, a 特急 reminder at escalation level N
PURPOSE_PUSH = "push"
PURPOSE_CIRCULATE = "circulate"
PURPOSE_URGENT = "urgent:"
#: 批示 prompts (ForceReply) are recorded as deliveries of this purpose + message id
PURPOSE_PROMPT = "prompt:"
#: roles of a push recipient (they decide the buttons)
ROLE_LEADER, ROLE_DUTY, ROLE_STAFF, ROLE_SUBSCRIBER = "leader", "duty", "staff", "subscriber"
#: staff notice events
EVENT_NOTICE = "chat_notice"
#: longest 批示 kept (Telegram messages are at most 4096 characters anyway)
MAX_INSTRUCTION = 4096
#: longest subscription keyword
MAX_KEYWORD = 50
#: outcomes whose content chat never sees, not even as a search hit
_ENVELOPE_ONLY = frozenset({Outcome.SEALED.value, Outcome.QUARANTINE.value})


# ------------------------------------------------------------------ who is who
def leader_by_chat(settings: Settings, chat_id: int) -> Leader | None:
    return next((x for x in settings.leader if x.chat_id == chat_id), None)


def chat_name(settings: Settings, chat_id: int) -> str:
    """A person's name for records and notices: leader, staff, duty, else the chat id."""
    for leader in settings.leader:
        if leader.chat_id == chat_id:
            return leader.name
    for staff in settings.staff:
        if staff.chat_id == chat_id:
            return staff.name
    for duty in settings.duty:
        if duty.chat_id == chat_id:
            return duty.name
    return f"chat:{chat_id}"


def local_time(settings: Settings, at: datetime) -> str:
    """3月2日 17:05 in the office's timezone."""
    local = at.astimezone(settings.tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def is_classified(secrecy: str | None) -> bool:
    return bool(secrecy)


def item_label(settings: Settings, item: Row | dict[str, Any], number: str | None) -> str:
    """办2026-0001《标题》; a classified item's title only when policy allows (§7)."""
    ref = number or f"收件序号 {item['id']}"
    if is_classified(item["secrecy"]) and not settings.bot.classified_titles:
        return f"{ref}（涉密件）"
    title = item["title"]
    return f"{ref}《{title}》" if title else ref


async def _notify_staff(
    ctx: Context, uow: UnitOfWork, *, text: str, at: datetime, item_id: int | None,
    chats: tuple[int, ...] | None = None,
) -> None:
    for chat_id in chats if chats is not None else registry_staff(ctx.settings):
        await outbox.enqueue(
            uow, channel=outbox.CHAT, event=EVENT_NOTICE, target=chat_id,
            payload={"text": text, "buttons": [], "blob": None, "filename": None,
                     "urgent": False},
            at=at, item_id=item_id,
        )


# ------------------------------------------------------------------ routing
def routing_item(item: Row, subscriptions: tuple[Subscription, ...]) -> RoutingItem:
    return RoutingItem(
        kind=Kind(item["kind"]) if item["kind"] else None,
        outcome=Outcome(item["outcome"]),
        sender=item["sender"], title=item["title"], secrecy=item["secrecy"],
        urgency=item["urgency"], subscriptions=subscriptions,
    )


def recipients(r: Route) -> list[tuple[int, str]]:
    """(chat, role) of everyone who gets the item now, each chat once, in send order."""
    out: dict[int, str] = {}
    for leader in r.leaders:
        out.setdefault(leader.chat_id, ROLE_LEADER)
    for chat_id in r.duty:
        out.setdefault(chat_id, ROLE_DUTY)
    for chat_id in r.staff:
        out.setdefault(chat_id, ROLE_STAFF)
    for chat_id in r.subscribers:
        out.setdefault(chat_id, ROLE_SUBSCRIBER)
    return list(out.items())


async def _queue_push(
    uow: UnitOfWork, *, item_id: int, chat_id: int, role: str, purpose: str, urgent: bool,
    at: datetime, escalation: int = 0,
) -> bool:
    if await repo.push_queued(uow, item_id, chat_id, purpose):
        return False
    await outbox.enqueue(
        uow, channel=outbox.CHAT, event=repo.PUSH, target=chat_id, at=at, item_id=item_id,
        payload={"item_id": item_id, "purpose": purpose, "role": role, "urgent": urgent,
                 "escalation": escalation},
    )
    return True


async def _subscriptions(uow: UnitOfWork) -> tuple[Subscription, ...]:
    return tuple(
        Subscription(int(r["chat_id"]), str(r["keyword"])) for r in await repo.subscriptions(uow)
    )


async def expand_route(ctx: Context, event_id: int) -> int:
    """Turn a `route` event into one push per chat (core.routing); returns pushes queued.

    One transaction: the pushes, the 传阅 list, the 特急 watch, the audit entry and the
    route event marked done — a crash leaves either all of it or none.
    """
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        event = await repo.get_event(uow, event_id)
        if event is None or event["done_at"] is not None:
            return 0
        item = await items_repo.get_item(uow, int(event["item_id"] or 0))
        if item is None:
            await outbox.mark_failed(uow, event_id, error="收件不存在", retry_at=now)
            await outbox.mark_done(uow, event_id, now)
            await uow.commit()
            return 0
        r = decide_route(routing_item(item, await _subscriptions(uow)), ctx.settings)
        urgent = is_urgent(item["urgency"])
        if r.circulation:
            await repo.start_circulation(
                uow, item["id"], [(x.name, x.chat_id) for x in r.circulation], now
            )
        targets = recipients(r)
        if urgent and targets:
            due = now + timedelta(minutes=ctx.settings.bot.urgent_ack_minutes)
            await repo.watch_urgent(uow, item["id"], now, due)
        queued = 0
        for chat_id, role in targets:
            queued += await _queue_push(
                uow, item_id=item["id"], chat_id=chat_id, role=role, purpose=PURPOSE_PUSH,
                urgent=urgent, at=now,
            )
        await audit.append(
            uow, at=now, actor=ACTOR_BOT, action="route", subject=f"item:{item['id']}",
            detail={"rule": r.rule, "why": r.describe(),
                    "to": [chat_name(ctx.settings, c) for c, _ in targets],
                    "circulation": [x.name for x in r.circulation]},
        )
        await outbox.mark_done(uow, event_id, now)
        await uow.commit()
    return queued


# ------------------------------------------------------------------ what a push shows
@dataclass(frozen=True)
class PushView:
    """The facts of an item a push may show; the bot decides what it does show (§7)."""

    item_id: int
    kind: str | None
    outcome: str
    number: str | None
    sender: str | None
    doc_number: str | None
    title: str | None
    secrecy: str | None
    urgency: str | None
    channel: str
    received_at: datetime
    deadline: str | None
    blob: str | None
    filename: str | None
    blob_size: int
    #: 内刊 传阅 order: (leader name, chat id, status)
    circulation: tuple[tuple[str, int, str], ...] = ()

    @property
    def classified(self) -> bool:
        return is_classified(self.secrecy)

    def position_of(self, chat_id: int) -> tuple[int, int] | None:
        """(position, of how many) of a chat in the 传阅 order."""
        for i, (_, chat, _status) in enumerate(self.circulation, start=1):
            if chat == chat_id:
                return i, len(self.circulation)
        return None


async def push_view(ctx: Context, item_id: int) -> PushView | None:
    async with ctx.db.reader() as r:
        item = await items_repo.get_item(r, item_id)
        if item is None:
            return None
        number = await repo.active_number(r, item_id)
        deadline = item["deadline"] or await repo.followup_due(r, item_id)
        attachment = None
        if item["outcome"] != Outcome.SEALED.value:
            attachment = await repo.first_attachment(r, item_id)
        circulation = await repo.circulation_of(r, item_id)
    return PushView(
        item_id=item_id, kind=item["kind"], outcome=item["outcome"], number=number,
        sender=item["sender"], doc_number=item["doc_number"], title=item["title"],
        secrecy=item["secrecy"], urgency=item["urgency"], channel=item["channel"],
        received_at=parse_iso(item["received_at"]), deadline=deadline,
        blob=attachment["sha256"] if attachment else None,
        filename=attachment["filename"] if attachment else None,
        blob_size=int(attachment["size"]) if attachment else 0,
        circulation=tuple((c["leader"], int(c["chat_id"]), c["status"]) for c in circulation),
    )


# ------------------------------------------------------------------ delivery records
@dataclass(frozen=True)
class Claim:
    """An event taken for sending. `resend`: it was in flight before, maybe delivered."""

    resend: bool


def purpose_of(event: outbox.Event) -> str:
    """What a delivery of this event is, for the (item, chat, purpose) record."""
    if event.event == repo.PUSH:
        return str(event.payload.get("purpose") or PURPOSE_PUSH)
    return f"{event.event}#{event.id}"


def chat_of(event: outbox.Event) -> int | None:
    target = event.target.strip()
    return int(target) if target.lstrip("-").isdecimal() else None


async def claim(ctx: Context, event: outbox.Event) -> Claim | None:
    """Mark an event in flight before sending it; None when there is nothing to send
    (done already, or this push is recorded as delivered: then it is marked done)."""
    now = ctx.clock()
    chat_id = chat_of(event)
    async with ctx.db.unit_of_work() as uow:
        if event.item_id is not None and chat_id is not None:
            sent = await repo.delivered(uow, event.item_id, chat_id, purpose_of(event))
            if sent is not None and sent.outbox_id != event.id:
                await outbox.mark_done(uow, event.id, now)
                await uow.commit()
                return None
        before = await repo.claim(uow, event.id, now)
        await uow.commit()
    if before is None:
        return None
    return Claim(resend=before != "")


async def record_sent(
    ctx: Context, event: outbox.Event, *, message_id: int, resend: bool
) -> None:
    """The send succeeded: remember the message (for replies and buttons) and mark the
    event done, in one transaction."""
    now = ctx.clock()
    chat_id = chat_of(event)
    async with ctx.db.unit_of_work() as uow:
        if chat_id is not None:
            await repo.record_delivery(
                uow, item_id=event.item_id, chat_id=chat_id, purpose=purpose_of(event),
                outbox_id=event.id, message_id=message_id, at=now, resend=resend,
            )
        await outbox.mark_done(uow, event.id, now)
        await uow.commit()


async def record_failure(
    ctx: Context, event: outbox.Event, *, error: str, retry_at: datetime, maybe_sent: bool
) -> None:
    """The send failed; try again at `retry_at`. Unless it may have arrived (the answer was
    lost), the event is no longer in flight, so the retry is not marked 重发."""
    async with ctx.db.unit_of_work() as uow:
        await outbox.mark_failed(uow, event.id, error=error, retry_at=retry_at)
        if not maybe_sent:
            await repo.release(uow, event.id)
        await uow.commit()


async def give_up(ctx: Context, event: outbox.Event, *, error: str) -> None:
    """A refusal retrying cannot cure (chat blocked, bad request): stop, keep the error."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await outbox.mark_failed(uow, event.id, error=error, retry_at=now)
        await repo.release(uow, event.id)
        await outbox.mark_done(uow, event.id, now)
        await audit.append(
            uow, at=now, actor=ACTOR_BOT, action="delivery.failed",
            subject=f"item:{event.item_id}" if event.item_id else f"outbox:{event.id}",
            detail={"event": event.event, "target": event.target, "error": error[:300]},
        )
        await uow.commit()


async def in_flight(ctx: Context) -> int:
    """Chat events claimed but not done: in flight when the process last stopped."""
    async with ctx.db.reader() as r:
        return await repo.claimed_count(r)


async def record_prompt(ctx: Context, *, item_id: int, chat_id: int, message_id: int) -> None:
    """A 批示 prompt (ForceReply) was sent: a reply to it belongs to the item."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await repo.record_delivery(
            uow, item_id=item_id, chat_id=chat_id, purpose=f"{PURPOSE_PROMPT}{message_id}",
            outbox_id=None, message_id=message_id, at=now, resend=False,
        )
        await uow.commit()


async def item_of_message(ctx: Context, chat_id: int, message_id: int) -> int | None:
    """The item a bot message in this chat was about (push or 批示 prompt)."""
    async with ctx.db.reader() as r:
        found = await repo.delivery_of_message(r, chat_id, message_id)
    return found.item_id if found else None


async def is_routed(ctx: Context, item_id: int, chat_id: int) -> bool:
    async with ctx.db.reader() as r:
        return await repo.routed_to(r, item_id, chat_id)


async def _sent_for_instruction(conn: Reader | UnitOfWork, item_id: int, chat_id: int) -> bool:
    """The item was pushed to this chat as to a leader (by 分工, 传阅 or subscription), not
    only for the duty list to acknowledge or the registry to know."""
    for role in (ROLE_LEADER, ROLE_SUBSCRIBER):
        if chat_id in await repo.push_targets(conn, item_id, role):
            return True
    return False


async def may_instruct(ctx: Context, item_id: int, chat_id: int) -> bool:
    """A leader may write a 批示 on this item (DOMAIN §7: only on items routed to them)."""
    if leader_by_chat(ctx.settings, chat_id) is None:
        return False
    async with ctx.db.reader() as r:
        return await _sent_for_instruction(r, item_id, chat_id)


# ------------------------------------------------------------------ 批示
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
    ctx: Context, *, item_id: int, chat_id: int, text: str, source_message: int | None = None
) -> Instructed:
    """Record a leader's 批示 verbatim; a 阅件 becomes a 办件 with the next 办件 number, and
    registry staff are told to route it to the handling unit (one transaction)."""
    leader = leader_by_chat(ctx.settings, chat_id)
    if leader is None:
        raise PermissionDeniedError("只有领导可以批示", actor=f"chat:{chat_id}")
    if not text.strip():
        raise InvalidInputError("批示内容为空", field="text")
    if len(text) > MAX_INSTRUCTION:
        raise InvalidInputError(f"批示过长（最多 {MAX_INSTRUCTION} 字）", field="text")
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
        before = await repo.active_number(uow, item_id)
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
        await _acknowledge(ctx, uow, item, chat_id=chat_id, by=leader.name, at=now,
                           number=number)
        await audit.append(
            uow, at=now, actor=actor, action="instruct", subject=f"item:{item_id}",
            detail={"seq": seq, "text": text, "number": number,
                    "converted_from": before if converted else None},
        )
        label = item_label(ctx.settings, item, number)
        await _notify_staff(
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
    lines.append("请按批示转承办单位办理。")
    return "\n".join(lines)


# ------------------------------------------------------------------ 已阅, 传阅, 特急
@dataclass(frozen=True)
class ReadResult:
    item_id: int
    already: bool = False
    #: 内刊: the leader it was passed to, or "" when the 传阅 is finished
    passed_to: str | None = None
    acknowledged: bool = False


async def _acknowledge(
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
    await _notify_staff(
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
        await _notify_staff(
            ctx, uow, at=at, item_id=item["id"],
            text=f"【传阅完毕】内刊 {label} 已由 {len(rows)} 位领导传阅完毕，请收回归档。",
        )
        return ""
    await repo.begin_turn(uow, item["id"], following["position"], at)
    await _queue_push(
        uow, item_id=item["id"], chat_id=int(following["chat_id"]), role=ROLE_LEADER,
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
        number = await repo.active_number(uow, item_id)
        if how == "passed":
            rows = await repo.circulation_of(uow, item_id)
            current = next((r for r in rows if r["status"] == "current"), None)
            if current is None or int(current["chat_id"]) != chat_id:
                raise ConflictError("此件已不在您处传阅")
        added = await repo.add_read(uow, item_id=item_id, chat_id=chat_id, reader=name, at=now,
                                    how=how)
        acknowledged = await _acknowledge(ctx, uow, item, chat_id=chat_id, by=name, at=now,
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
            leaders = await repo.push_targets(uow, item["id"], ROLE_LEADER)
            targets = [(c, ROLE_LEADER) for c in leaders]
            targets += [(c, ROLE_DUTY) for c in ladder[:level] if c not in leaders]
            for chat_id, role in targets:
                await _queue_push(
                    uow, item_id=item["id"], chat_id=chat_id, role=role, urgent=True,
                    purpose=f"{PURPOSE_URGENT}{level}", at=at, escalation=level,
                )
            number = await repo.active_number(uow, item["id"])
            if exhausted:
                started = parse_iso(watch["started_at"])
                minutes = int((at - started).total_seconds() // 60)
                await _notify_staff(
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


# ------------------------------------------------------------------ subscriptions
def _keyword(text: str) -> str:
    keyword = text.strip()
    if not keyword:
        raise InvalidInputError("请给出关键词，例如：/subscribe 防汛", field="keyword")
    if len(keyword) > MAX_KEYWORD:
        raise InvalidInputError(f"关键词过长（最多 {MAX_KEYWORD} 字）", field="keyword")
    return keyword


async def subscribe(ctx: Context, *, chat_id: int, keyword: str) -> bool:
    """Also receive unclassified items whose title or sender holds `keyword`."""
    word = _keyword(keyword)
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        added = await repo.add_subscription(uow, chat_id, word, now)
        if added:
            await audit.append(uow, at=now, actor=chat_name(ctx.settings, chat_id),
                               action="subscribe", subject=f"chat:{chat_id}",
                               detail={"keyword": word})
        await uow.commit()
    return added


async def unsubscribe(ctx: Context, *, chat_id: int, keyword: str | None = None) -> int:
    """Drop one keyword, or all of a chat's keywords when none is given."""
    word = _keyword(keyword) if keyword is not None and keyword.strip() else None
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        removed = await repo.remove_subscriptions(uow, chat_id, word)
        if removed:
            await audit.append(uow, at=now, actor=chat_name(ctx.settings, chat_id),
                               action="unsubscribe", subject=f"chat:{chat_id}",
                               detail={"keyword": word, "removed": removed})
        await uow.commit()
    return removed


async def subscriptions(ctx: Context, chat_id: int) -> list[str]:
    async with ctx.db.reader() as r:
        return [str(x["keyword"]) for x in await repo.subscriptions(r, chat_id)]


# ------------------------------------------------------------------ registry staff
@dataclass(frozen=True)
class ReviewEntry:
    item_id: int
    received_at: datetime
    channel: str
    sender: str | None
    doc_number: str | None
    title: str | None
    secrecy: str | None
    reason: str | None


async def review_queue(ctx: Context, limit: int = 20) -> list[ReviewEntry]:
    """Items waiting for staff to classify them (待分类), oldest first."""
    async with ctx.db.reader() as r:
        rows = await repo.review_items(r, limit)
    return [
        ReviewEntry(x["id"], parse_iso(x["received_at"]), x["channel"], x["sender"],
                    x["doc_number"], x["title"], x["secrecy"], x["reason"])
        for x in rows
    ]


async def classify(ctx: Context, *, item_id: int, kind: Kind, actor: str) -> registry.Registered:
    """Staff classify a review item: it is numbered and, in the same transaction, queued to
    be pushed like any registered item."""
    return await registry.classify_review(ctx, item_id=item_id, kind=kind, actor=actor)


async def register_paper(
    ctx: Context, *, kind: Kind, sender: str, title: str, actor: str,
    doc_number: str | None = None,
) -> registry.Registered:
    """A paper item registered in chat: numbered and queued to be pushed (one transaction)."""
    return await registry.register_paper(
        ctx, kind=kind, sender=sender, title=title, doc_number=doc_number, actor=actor
    )


@dataclass(frozen=True)
class Found:
    item_id: int
    number: str | None
    kind: str | None
    outcome: str
    sender: str | None
    title: str | None
    received_at: datetime


async def find(ctx: Context, keyword: str, limit: int = 10) -> list[Found]:
    """Items whose title or text holds `keyword`. Classified, sealed and quarantined items
    are left out: a hit would tell the chat what their text says (§2, §7)."""
    word = keyword.strip()
    if not word:
        raise InvalidInputError("请给出关键词，例如：/find 防汛", field="keyword")
    async with ctx.db.reader() as r:
        rows = await repo.search(r, word, limit * 3)
    found = [
        Found(x["id"], x["number"], x["kind"], x["outcome"], x["sender"], x["title"],
              parse_iso(x["received_at"]))
        for x in rows
        if not is_classified(x["secrecy"]) and x["outcome"] not in _ENVELOPE_ONLY
    ]
    return found[:limit]


@dataclass(frozen=True)
class ItemStatus:
    """An item as the registry follows it: entries, pushes, 已阅, 传阅, 批示, 特急."""

    item: dict[str, Any]
    deliveries: list[repo.Delivery]
    reads: list[dict[str, Any]]
    circulation: list[dict[str, Any]]
    instructions: list[dict[str, Any]]
    urgent: dict[str, Any] | None


async def item_status(ctx: Context, ref: str) -> ItemStatus:
    shown = await registry.show(ctx, ref)
    item_id = int(shown["id"])
    async with ctx.db.reader() as r:
        deliveries = await repo.deliveries_of(r, item_id)
        reads = [dict(x) for x in await repo.reads_of(r, item_id)]
        circulation = [dict(x) for x in await repo.circulation_of(r, item_id)]
        instructions = [dict(x) for x in await repo.instructions_of(r, item_id)]
        watch = await repo.urgent_of(r, item_id)
    return ItemStatus(shown, deliveries, reads, circulation, instructions,
                      dict(watch) if watch else None)


async def refuse(ctx: Context, *, user_id: int | None, chat_id: int | None, what: str) -> None:
    """Someone not configured used the bot: the refusal is audited."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await audit.append(
            uow, at=now, actor=f"tg:{user_id}", action="bot.refused",
            subject=f"chat:{chat_id}", detail={"what": what[:100]},
        )
        await uow.commit()
