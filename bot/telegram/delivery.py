"""The delivery loop: drain the outbox's chat events into Telegram, at least once.

- Every chat event goes to its target chat (items are routed into one push per chat in
  the transaction that registers them): pushes are rendered from the item,
  plain events carry {"text", "buttons", "blob", "filename"}.
- Pacing: core.chat.paced's per-chat queue sends at most one message per
  `per_chat_interval` seconds to a chat (Telegram: about 1/s per chat, 20 a minute to a
  group), and everything waiting for the chat when its slot comes goes as one message
  (pushes and plain notices alike, 特急 alone and first); PTB's AIORateLimiter keeps the
  whole bot under its overall rate and waits out a 429 a few times before it reaches us.
- Each send is claimed (in flight) before it goes out and recorded with its message id
  in the same transaction that marks the event done. A failure is retried with backoff;
  a send whose answer was lost, or one in flight when the process died, goes out again
  marked 【重发】.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta

import httpx
from telegram import Bot
from telegram import Message as TgMessage
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.telegram import render
from bot.telegram.port import TelegramPort
from core import permissions, retry
from core.chat import batch, pace
from core.chat.message import Attachment, Message, actions_from_payload, text_message
from core.chat.paced import PacedDelivery
from core.errors import JiyaoError
from core.services import delivery, outbox, push
from core.services.context import Context
from core.services.outbox import Event

log = logging.getLogger("bot.telegram.delivery")

POLL_SECONDS = 0.1
PER_CHAT_INTERVAL = 1.05
#: items listed in one message at most (about 110 characters each: 40 fill most of a
#: 4,096-character message; a batch that does not fit is cut where it stops fitting)
MOST_ITEMS = 40
#: Telegram's most buttons under one message
BUTTON_LIMIT = 100
#: events taken per chat and per look: enough to fill a batch
PER_CHAT_BATCH = MOST_ITEMS + 2
#: Telegram's longest text
TEXT_LIMIT = 4096
#: seconds `stop()` lets sends in progress finish
STOP_GRACE = 5.0


def maybe_delivered(exc: TelegramError) -> bool:
    """The request may have reached Telegram though we got no answer (timeout, dropped
    connection). A 5xx or 429 answer means it was not taken."""
    if isinstance(exc, TimedOut):
        return True
    if isinstance(exc, NetworkError) and not isinstance(exc, RetryAfter):
        cause = exc.__cause__
        return cause is not None and not isinstance(cause, TelegramError)
    return False


def retry_after(exc: RetryAfter) -> timedelta:
    """How long Telegram asked us to wait (an int until PTB 23, a timedelta after)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def _fits(group: list[Message]) -> bool:
    listing = batch.batch_message(group, hint=batch.BATCH_BY_REPLY)
    return render.plain_length(render.html_text(listing)) <= TEXT_LIMIT


def _fitting(group: list[Message]) -> int:
    """How many of `group`'s first items one message holds (one at least: a single push
    is sent as itself, and cut by the renderer)."""
    if _fits(group):
        return len(group)
    low, high = 1, len(group) - 1  # the longest fitting prefix, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if _fits(group[:mid]):
            low = mid
        else:
            high = mid - 1
    return low


class Delivery(PacedDelivery):
    """Drains the chat outbox; `wake()` after writing events to send them at once."""

    name = "推送"

    def __init__(
        self,
        ctx: Context,
        bot: Bot,
        *,
        poll: float = POLL_SECONDS,
        per_chat_interval: float = PER_CHAT_INTERVAL,
    ) -> None:
        interval = per_chat_interval

        def limits(address: str) -> pace.Limits:
            # Telegram's windows, with its one a second stretched to `per_chat_interval`
            return tuple((n, interval if n == 1 else s) for n, s in pace.telegram_limits(address))

        pacer = pace.Pacer(limits, margin=0.0)
        super().__init__(ctx, pacer, poll=poll, grace=STOP_GRACE, most=MOST_ITEMS,
                         per_take=PER_CHAT_BATCH)
        self.bot = bot
        blobs = ctx.blobs

        async def load(sha: str) -> bytes:
            return await asyncio.to_thread(blobs.get, sha)

        self.port = TelegramPort(bot, load, pacer)
        self.per_chat_interval = per_chat_interval

    async def starting(self) -> None:
        waiting = await delivery.in_flight(self.ctx)
        if waiting:
            log.warning("上次停止时有 %d 条推送正在发送，将重发并标注【重发】", waiting)

    def recipient(self, event: Event) -> str | None:
        chat_id = delivery.chat_of(event)
        return None if chat_id is None else str(chat_id)

    async def refuse(self, event: Event) -> None:
        await delivery.give_up(self.ctx, event, error=f"无效的聊天对象 {event.target!r}")

    async def send(self, address: str, events: list[Event]) -> list[Event]:
        if len(events) == 1:
            await self.deliver(events[0])
            return []
        return await self.deliver_batch(int(address), events)

    async def deliver(self, event: Event) -> bool:
        """Send one event; True when it was sent and recorded."""
        claim = await delivery.claim(self.ctx, event)
        if claim is None:
            return False
        try:
            message = await self._send(event, resend=claim.resend)
        except Exception as exc:
            await self._refused_or_later(event, exc)
            return False
        await delivery.record_sent(self.ctx, event, message_ref=message.message_id,
                                   resend=claim.resend)
        self.sent += 1
        self.events_sent += 1
        return True

    async def _refused_or_later(self, event: Event, exc: Exception) -> None:
        """A send failed: given up when retrying cannot cure it, else retried later."""
        if isinstance(exc, RetryAfter):
            wait = retry_after(exc) + timedelta(seconds=0.5)
            await self._failed(event, exc, wait, maybe_sent=False)
        elif isinstance(exc, Forbidden | BadRequest | InvalidToken | ChatMigrated):
            log.error("推送 %d 至 %s 被拒绝，不再重试：%s", event.id, event.target, exc)
            await delivery.give_up(self.ctx, event, error=f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, TelegramError):
            await self._failed(event, exc, retry.CHAT.delay(event.attempts),
                               maybe_sent=maybe_delivered(exc))
        elif isinstance(exc, JiyaoError | OSError | httpx.HTTPError):
            await self._failed(event, exc, retry.CHAT.delay(event.attempts), maybe_sent=False)
        else:
            # rendering or reading the file failed before anything was sent
            log.error("推送 %d 无法生成", event.id, exc_info=exc)
            await self._failed(event, exc, retry.CHAT.delay(event.attempts), maybe_sent=False)

    async def deliver_batch(self, chat_id: int, events: list[Event]) -> list[Event]:
        """Several pushes or notices waiting for one chat as one message listing them, each
        with its buttons (core.chat.batch). What does not fit one message is put back and
        returned: it goes at the chat's next slot, not in a second message now."""
        claimed: list[tuple[Event, bool, Message]] = []
        for event, claim in zip(events, await delivery.claim_all(self.ctx, events),
                                strict=True):
            if claim is None:
                continue
            try:
                neutral = await self._message(event, chat_id, resend=claim.resend)
            except Exception as exc:
                await self._refused_or_later(event, exc)
                continue
            claimed.append((event, claim.resend, neutral))
        # a resend goes alone, so that its 【重发】 mark heads the message
        alone = [[m] for _, resend, m in claimed if resend]
        fresh = batch.one_per_item([((e, r), m) for e, r, m in claimed if not r])
        claimed = [(e, r, m) for e, r, m in claimed if r] + [(e, r, m) for (e, r), m in fresh]
        groups = self._groups(batch.distinct([m for _, m in fresh]))
        later = [e for e, _, m in claimed if any(m is g for group in groups[1:] for g in group)]
        await delivery.put_back(self.ctx, later)
        for group in alone + groups[:1]:
            part = [(e, r) for e, r, m in claimed if any(m is g for g in group)]
            try:
                if len(group) == 1:
                    sent = await self._send_neutral(chat_id, group[0])
                else:
                    listing = batch.batch_message(group, hint=batch.BATCH_BY_REPLY)
                    sent = await self.port.send_message(chat_id, listing)
            except Exception as exc:
                for event, _ in part:
                    await self._refused_or_later(event, exc)
                continue
            await delivery.record_all_sent(self.ctx, part, message_ref=sent.message_id)
            self.sent += 1
            self.events_sent += len(part)
        return later

    @staticmethod
    def _groups(messages: list[Message]) -> list[list[Message]]:
        """Batches that fit one Telegram message: 4,096 characters, 100 buttons."""
        out: list[list[Message]] = []
        for cut in batch.batches(messages, max_items=MOST_ITEMS, max_actions=BUTTON_LIMIT):
            rest = cut
            while rest:
                n = _fitting(rest)
                out.append(rest[:n])
                rest = rest[n:]
        return out

    async def _failed(
        self, event: Event, exc: Exception, delay: timedelta, *, maybe_sent: bool
    ) -> None:
        log.warning("推送 %d 至 %s 失败（第 %d 次），%.0f 秒后重试：%s: %s", event.id,
                    event.target, event.attempts + 1, delay.total_seconds(),
                    type(exc).__name__, exc)
        await delivery.record_failure(
            self.ctx, event, error=f"{type(exc).__name__}: {exc}",
            retry_at=self.ctx.clock() + delay, maybe_sent=maybe_sent,
        )

    # ------------------------------------------------------------ sending
    async def _send(self, event: Event, *, resend: bool) -> TgMessage:
        chat_id = delivery.chat_of(event)
        assert chat_id is not None
        return await self.port.send_message(chat_id,
                                            await self._message(event, chat_id, resend=resend))

    async def _message(self, event: Event, chat_id: int, *, resend: bool) -> Message:
        """The event as the neutral message for this chat: a push rendered from its item,
        or a plain notice ({"text", "buttons", "blob", "filename"})."""
        if event.event == outbox.PUSH:
            return await self._push_message(event, chat_id, resend=resend)
        payload = event.payload
        text = str(payload.get("text") or "").strip() or "（空消息）"
        if resend:
            text = f"{render.RESEND_MARK}{text}"
        blob = payload.get("blob")
        file = Attachment(str(blob), str(payload.get("filename") or "附件")) if blob else None
        return text_message(text, actions_from_payload(payload.get("buttons")), file,
                            item_id=event.item_id)

    async def _push_message(self, event: Event, chat_id: int, *, resend: bool) -> Message:
        """The push of an event as the neutral message (core.chat.push) for this chat."""
        item_id = int(event.payload.get("item_id") or event.item_id or 0)
        view = await push.push_view(self.ctx, item_id)
        if view is None:
            raise BadRequest(f"收件 {item_id} 不存在")
        settings = self.ctx.settings
        role = str(event.payload.get("role") or push.ROLE_STAFF)
        leader = permissions.leader_by_chat(settings, chat_id) is not None and role in (
            push.ROLE_LEADER, push.ROLE_SUBSCRIBER)
        return render.push_message(
            view, settings, chat_id=chat_id, role=role,
            purpose=str(event.payload.get("purpose") or push.PURPOSE_PUSH), leader=leader,
            escalation=int(event.payload.get("escalation") or 0), resend=resend,
        )

    async def _send_neutral(self, chat_id: int, message: Message) -> TgMessage:
        """One push: HTML text with its buttons, or its document with the text as caption."""
        return await self.port.send_message(chat_id, message)
