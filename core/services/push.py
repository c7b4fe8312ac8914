"""Pushes: who gets a registered item (core.routing), queued as one `push` event per chat,
and what a push may show when the adapter renders it.

An item is routed in the transaction that registers it (DESIGN: the decision, number,
audit entry and outbox events of one item are one transaction): one `push` event per
chat, payload {"item_id", "purpose", "role", "urgent", "escalation"}; the adapter renders
each push from the item when it sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.chat.address import addresses_of
from core.clock import parse_iso
from core.config import Settings
from core.handling import proposal_summary
from core.model import Kind, Outcome
from core.permissions import chat_name
from core.routing import Route, RoutingItem, Subscription, is_urgent
from core.routing import route as decide_route
from core.services.context import Context
from core.services.notify import ACTOR_BOT
from core.storage import audit, outbox, registers
from core.storage import chat as repo
from core.storage import followups as followups_repo
from core.storage import handling as handling_repo
from core.storage import items as items_repo
from core.storage.db import Row, UnitOfWork
from core.visibility import is_classified

log = logging.getLogger("core.push")

#: push purposes: the first push, a 内刊 passed on, a 特急 reminder at escalation level N
PURPOSE_PUSH = "push"
PURPOSE_CIRCULATE = "circulate"
PURPOSE_URGENT = "urgent:"
#: the item again, now with the registry's 拟办意见 and its 同意拟办 button
PURPOSE_PROPOSAL = "proposal"
#: roles of a push recipient (they decide the buttons)
ROLE_LEADER, ROLE_DUTY, ROLE_STAFF, ROLE_SUBSCRIBER = "leader", "duty", "staff", "subscriber"


def routing_item(
    item: Row | Mapping[str, Any], subscriptions: tuple[Subscription, ...]
) -> RoutingItem:
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


#: id(settings) → (settings, {chat id: the outbox targets of its addresses}): who is
#: reached where is configuration, the same for every push
_TARGETS: dict[int, tuple[Settings, dict[int, tuple[str, ...]]]] = {}


def _targets(settings: Settings, chat_id: int) -> tuple[str, ...]:
    """The outbox targets of `addresses_of(settings, chat_id)`, worked out once."""
    cached = _TARGETS.get(id(settings))
    if cached is None or cached[0] is not settings:
        if len(_TARGETS) > 8:
            _TARGETS.clear()
        cached = _TARGETS[id(settings)] = (settings, {})
    targets = cached[1].get(chat_id)
    if targets is None:
        targets = cached[1][chat_id] = tuple(a.target for a in addresses_of(settings, chat_id))
    return targets


async def queue_push(
    settings: Settings, uow: UnitOfWork, *, item_id: int, chat_id: int, role: str,
    purpose: str, urgent: bool, at: datetime, escalation: int = 0,
) -> bool:
    """One push event per address of the person `chat_id` (core.chat.address: Telegram,
    and WeCom when they have a userid there); False when all were queued before."""
    queued = False
    for target in _targets(settings, chat_id):
        queued |= await outbox.enqueue_push(
            uow, item_id=item_id, target=target, at=at,
            payload={"item_id": item_id, "purpose": purpose, "role": role, "urgent": urgent,
                     "escalation": escalation},
        )
    return queued


async def _subscriptions(uow: UnitOfWork) -> tuple[Subscription, ...]:
    return tuple(
        Subscription(int(r["chat_id"]), str(r["keyword"])) for r in await repo.subscriptions(uow)
    )


#: the columns of an item that routing reads
ROUTED_COLUMNS = ("kind", "outcome", "sender", "title", "secrecy", "urgency")


def routed_columns(item: items_repo.NewItem) -> dict[str, Any]:
    """The columns routing reads of an item, as `insert_item` writes them from `item`."""
    return {c: getattr(item, c) for c in ROUTED_COLUMNS}


async def route_item(
    ctx: Context, uow: UnitOfWork, *, item_id: int, at: datetime,
    written: Mapping[str, Any] | None = None,
) -> int:
    """Queue the pushes of a registered item to whom 分工 says (core.routing), with its 传阅
    list, its 特急 watch and the audit entry, inside the caller's transaction; returns the
    number of pushes queued. `written`: the item's `routed_columns`, when the caller
    inserted it in this unit (instead of reading them back)."""
    item: Row | Mapping[str, Any] | None = written
    if item is None:
        item = await items_repo.get_item(uow, item_id)
        if item is None:
            return 0
    r = decide_route(routing_item(item, await _subscriptions(uow)), ctx.settings)
    urgent = is_urgent(item["urgency"])
    if r.circulation:
        await repo.start_circulation(
            uow, item_id, [(x.name, x.chat_id) for x in r.circulation], at
        )
    targets = recipients(r)
    if urgent and targets:
        due = at + timedelta(minutes=ctx.settings.bot.urgent_ack_minutes)
        await repo.watch_urgent(uow, item_id, at, due)
    queued = 0
    for chat_id, role in targets:
        queued += await queue_push(
            ctx.settings, uow, item_id=item_id, chat_id=chat_id, role=role, purpose=PURPOSE_PUSH,
            urgent=urgent, at=at,
        )
    await audit.append(
        uow, at=at, actor=ACTOR_BOT, action="route", subject=f"item:{item_id}",
        detail={"rule": r.rule, "why": r.describe(),
                "to": [chat_name(ctx.settings, c) for c, _ in targets],
                "circulation": [x.name for x in r.circulation]},
    )
    return queued


async def route_waiting(ctx: Context) -> int:
    """Route the items whose `route` event an earlier version left in the outbox (it routed
    behind the registering transaction); returns how many were routed."""
    now = ctx.clock()
    async with ctx.db.reader() as r:
        # all of them, also those an earlier failure put off until later
        events = await outbox.route_events(r, now + timedelta(days=366), 100_000)
    routed = 0
    for event in events:
        try:
            async with ctx.db.unit_of_work() as uow:
                if await outbox.is_done(uow, event.id):
                    continue
                await route_item(ctx, uow, item_id=int(event.item_id or 0), at=now)
                await outbox.mark_done(uow, event.id, now)
                await uow.commit()
        except Exception as exc:
            # one damaged item must not hold up the others; it stays for staff to see
            log.exception("收件 %s 无法分发", event.item_id)
            async with ctx.db.unit_of_work() as uow:
                await outbox.mark_failed(uow, event.id, error=f"{type(exc).__name__}: {exc}",
                                         retry_at=now)
                await uow.commit()
            continue
        routed += 1
    return routed


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
    #: the registry's 拟办意见 while it waits for a leader (同意拟办 accepts it)
    proposal: str | None = None

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
        number = await registers.active_number(r, item_id)
        deadline = item["deadline"] or await followups_repo.due_of(r, item_id)
        attachment = None
        if item["outcome"] != Outcome.SEALED.value:
            attachment = await items_repo.first_attachment(r, item_id)
        circulation = await repo.circulation_of(r, item_id)
        flow = await handling_repo.get(r, item_id)
    return PushView(
        item_id=item_id, kind=item["kind"], outcome=item["outcome"], number=number,
        sender=item["sender"], doc_number=item["doc_number"], title=item["title"],
        secrecy=item["secrecy"], urgency=item["urgency"], channel=item["channel"],
        received_at=parse_iso(item["received_at"]), deadline=deadline,
        blob=attachment["sha256"] if attachment else None,
        filename=attachment["filename"] if attachment else None,
        blob_size=int(attachment["size"]) if attachment else 0,
        circulation=tuple((c["leader"], int(c["chat_id"]), c["status"]) for c in circulation),
        proposal=_proposal(flow),
    )


def _proposal(flow: Row | None) -> str | None:
    """The 拟办 a leader is asked to accept, while the item waits for the 批示."""
    p = handling_repo.proposal_of(flow) if flow is not None and flow["step"] == "待批示" else None
    return None if p is None else proposal_summary(p.text, p.units, p.due)
