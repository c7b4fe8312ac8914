"""Delivery bookkeeping of chat events: claimed before the send, recorded after.

Delivery is at least once: `claim` marks an event in flight before the send, `record_sent`
records the sent message and marks the event done in one transaction. An event found
claimed again was possibly delivered already: its resend is marked (重发).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.chat.address import Address, of_target
from core.chat.address import telegram as telegram_address
from core.services.context import Context
from core.services.notify import ACTOR_BOT, notify_staff
from core.services.push import PURPOSE_PUSH
from core.storage import audit, outbox
from core.storage import chat as repo
from core.storage.db import UnitOfWork

#: 批示 prompts (ForceReply) are recorded as deliveries of this purpose + message id
PURPOSE_PROMPT = "prompt:"


@dataclass(frozen=True)
class Claim:
    """An event taken for sending. `resend`: it was in flight before, maybe delivered."""

    resend: bool


def purpose_of(event: outbox.Event) -> str:
    """What a delivery of this event is, for the (item, chat, purpose) record."""
    if event.event == outbox.PUSH:
        return str(event.payload.get("purpose") or PURPOSE_PUSH)
    return f"{event.event}#{event.id}"


def address_of(event: outbox.Event) -> Address | None:
    """Where a chat event goes; None for a malformed target."""
    return of_target(event.target)


def chat_of(event: outbox.Event) -> int | None:
    """The Telegram chat of an event; None when it goes elsewhere or is malformed."""
    found = address_of(event)
    return int(found.address) if found is not None and found.channel == "telegram" else None


async def claim(ctx: Context, event: outbox.Event) -> Claim | None:
    """Mark an event in flight before sending it; None when there is nothing to send
    (done already, or this push is recorded as delivered: then it is marked done)."""
    return (await claim_all(ctx, [event]))[0]


async def claim_all(ctx: Context, events: Sequence[outbox.Event]) -> list[Claim | None]:
    """`claim` for each of `events` (a batch to one recipient), in one transaction."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        out = [await _claim(uow, event, now) for event in events]
        await uow.commit()
    return out


async def _claim(uow: UnitOfWork, event: outbox.Event, now: datetime) -> Claim | None:
    to = address_of(event)
    if event.item_id is not None and to is not None:
        sent = await repo.delivered(uow, event.item_id, to.channel, to.address,
                                    purpose_of(event))
        if sent is not None and sent.outbox_id != event.id:
            await outbox.mark_done(uow, event.id, now)
            return None
    before = await outbox.claim(uow, event.id, now)
    return None if before is None else Claim(resend=before != "")


async def record_sent(
    ctx: Context, event: outbox.Event, *, message_ref: str | int, resend: bool
) -> None:
    """The send succeeded: remember the message (for replies and buttons) and mark the
    event done, in one transaction."""
    await record_all_sent(ctx, [(event, resend)], message_ref=message_ref)


async def record_all_sent(
    ctx: Context, events: Sequence[tuple[outbox.Event, bool]], *, message_ref: str | int
) -> None:
    """`record_sent` for the (event, resend) pairs one message carried, in one
    transaction."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        for event, resend in events:
            to = address_of(event)
            if to is not None:
                await repo.record_delivery(
                    uow, item_id=event.item_id, channel=to.channel, address=to.address,
                    purpose=purpose_of(event), outbox_id=event.id,
                    message_ref=str(message_ref), at=now, resend=resend,
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
            await outbox.release(uow, event.id)
        await uow.commit()


async def put_back(ctx: Context, events: Sequence[outbox.Event]) -> None:
    """Claimed events that were not sent (they did not fit this message and wait for the
    recipient's next one): no longer in flight."""
    async with ctx.db.unit_of_work() as uow:
        for event in events:
            await outbox.release(uow, event.id)
        await uow.commit()


async def give_up(ctx: Context, event: outbox.Event, *, error: str) -> None:
    """A refusal retrying cannot cure (chat blocked, bad request): stop, keep the error."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await outbox.mark_failed(uow, event.id, error=error, retry_at=now)
        await outbox.release(uow, event.id)
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
        return await outbox.claimed_count(r, outbox.CHAT)


async def record_prompt(
    ctx: Context, *, item_id: int, message_ref: str | int, chat_id: int | None = None,
    to: Address | None = None,
) -> None:
    """A 批示 prompt was sent (Telegram: a ForceReply; WeCom: the 批示 button's answer): the
    next text belongs to the item."""
    now = ctx.clock()
    where = to or telegram_address(int(chat_id or 0))
    async with ctx.db.unit_of_work() as uow:
        await repo.record_delivery(
            uow, item_id=item_id, channel=where.channel, address=where.address,
            purpose=f"{PURPOSE_PROMPT}{message_ref}", outbox_id=None,
            message_ref=str(message_ref), at=now, resend=False,
        )
        await uow.commit()


async def item_of_message(
    ctx: Context, chat_id: int | None, message_ref: str | int, *, to: Address | None = None
) -> int | None:
    """The item a bot message was about (push or 批示 prompt), by the Telegram chat or
    the address it went to."""
    where = to or telegram_address(int(chat_id or 0))
    async with ctx.db.reader() as r:
        found = await repo.delivery_of_message(r, where.channel, where.address,
                                               str(message_ref))
    return found.item_id if found else None


async def items_of_message(ctx: Context, to: Address, message_ref: str | int) -> list[int]:
    """The items a sent message was about: one for a push, several for a batch."""
    async with ctx.db.reader() as r:
        return await repo.items_of_message(r, to.channel, to.address, str(message_ref))


async def prompted_item(
    ctx: Context, to: Address, *, chat_id: int, within: timedelta
) -> int | None:
    """The item a 批示 prompt sent to `to` within `within` waits on, unless the person
    `chat_id` has written a 批示 on it since (platforms without replies: WeCom)."""
    async with ctx.db.reader() as r:
        found = await repo.open_prompt(r, to.channel, to.address, chat_id=chat_id,
                                       since=ctx.clock() - within)
    return found.item_id if found else None


async def sent_to(ctx: Context, item_id: int, to: Address) -> list[repo.Delivery]:
    """Every recorded message of the item to one address, oldest first."""
    async with ctx.db.reader() as r:
        return await repo.deliveries_to(r, item_id, to.channel, to.address)


async def mail_sent(ctx: Context, event: outbox.Event) -> None:
    """The smarthost accepted a mail event: it is done."""
    async with ctx.db.unit_of_work() as uow:
        await outbox.mark_done(uow, event.id, ctx.clock())
        await uow.commit()


async def mail_refused(ctx: Context, event: outbox.Event, *, error: str, notice: str) -> None:
    """The smarthost refused a mail for good: stop retrying (it would only delay telling
    the sender another way) and tell registry staff `notice`, in one transaction."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await outbox.mark_failed(uow, event.id, error=error, retry_at=now)
        await outbox.mark_done(uow, event.id, now)
        await notify_staff(ctx, uow, text=notice, at=now, item_id=event.item_id,
                           event="staff_notice")
        await uow.commit()
