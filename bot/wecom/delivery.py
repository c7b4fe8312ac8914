"""The WeCom delivery loop: drain the outbox's events to WeCom members, at least once.

The bookkeeping is core's (core.services.delivery: claimed before the send, recorded with
its message ref after, retried with backoff); this loop renders each event as a neutral
message (core.chat) and hands it to the port. Each member has one paced queue
(core.chat.paced) on the client's pacer: never beyond WeCom's 30 a minute and 1,000 an
hour, ordinary messages leaving three slots a minute for 特急. What waits for a member when
their slot comes goes together: pushes as one card listing up to ten of them, each chosen
in the card's drop-down for its 已阅 and 批示 buttons, and notices up to nine to a text
(core.chat.batch); a batch
that is not full waits up to `per_user_interval` after the previous send for more;
特急/特提 go alone and first.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.wecom import render
from bot.wecom.client import PacedError, TransportError, WeComError
from bot.wecom.port import WeComPort
from core import permissions, retry
from core.chat import batch
from core.chat.address import WECOM, person_of
from core.chat.address import wecom as wecom_address
from core.chat.message import RESEND_MARK, Attachment, Message, actions_from_payload, text_message
from core.chat.paced import PacedDelivery
from core.chat.push import INSTRUCT_BY_BUTTON, push_message
from core.errors import JiyaoError
from core.services import delivery, outbox, push
from core.services.context import Context
from core.services.outbox import Event

log = logging.getLogger("bot.wecom.delivery")

POLL_SECONDS = 0.1
#: seconds a batch that is not full waits after the previous send to the member for more
#: to join it: 60 s / 30, so a trickle alone never reaches 30 a minute
PER_USER_INTERVAL = 2.0
#: slots of each window an ordinary send leaves free for 特急/特提
URGENT_SPARE = 3
#: events taken per member and per look: enough to fill a batch
PER_USER_TAKE = 25
STOP_GRACE = 5.0
#: notices listed in one text (it stays under WeCom's 2,048 bytes)
NOTICE_ITEMS = 9
#: events taken at once: a full drop-down card of pushes (render.selection_card)
TAKE_ITEMS = render.SELECTION_ITEMS


def _selectable(message: Message) -> bool:
    """A push or notice whose buttons all act on its item: in a batch it is chosen in a
    drop-down card (with the others that have the same buttons)."""
    return message.item_id is not None and bool(render.selection_keys(message))


class _Refused(Exception):  # noqa: N818 - a refusal retrying cannot cure
    pass


class WeComDelivery(PacedDelivery):
    """Drains the WeCom events of the chat outbox; `wake()` after writing events."""

    name = "企业微信推送"
    wecom = True

    def __init__(self, ctx: Context, port: WeComPort, *, poll: float = POLL_SECONDS,
                 per_user_interval: float = PER_USER_INTERVAL,
                 batch_items: int = TAKE_ITEMS) -> None:
        # the client's pacer books every message sent to a member (cards, texts, files,
        # answers), so the queue waits on the same windows
        super().__init__(ctx, port.client.pacer, poll=poll, grace=STOP_GRACE,
                         most=batch_items, gap=per_user_interval, spare=URGENT_SPARE,
                         per_take=PER_USER_TAKE)
        self.port = port
        self.per_user_interval = per_user_interval
        self.batch_items = batch_items

    def recipient(self, event: Event) -> str | None:
        to = delivery.address_of(event)
        return to.address if to is not None and to.channel == WECOM else None

    async def refuse(self, event: Event) -> None:
        await delivery.give_up(self.ctx, event, error=f"无效的企业微信成员 {event.target!r}")

    async def send(self, address: str, events: list[Event]) -> list[Event]:
        await self.deliver(address, events)
        return []

    # ------------------------------------------------------------ one send
    async def deliver(self, user: str, events: list[Event]) -> int:
        """Send `events` to `user` (several pushes as one batch); how many were sent."""
        claimed: list[tuple[Event, Message]] = []
        resent: set[int] = set()
        for event, claim in zip(events, await delivery.claim_all(self.ctx, events),
                                strict=True):
            if claim is None:
                continue
            if claim.resend:
                resent.add(event.id)
            try:
                claimed.append((event, await self._message(user, event, resend=claim.resend)))
            except _Refused as exc:
                await delivery.give_up(self.ctx, event, error=str(exc))
            except Exception as exc:
                log.exception("企业微信推送 %d 无法生成", event.id)
                await self._failed(event, exc, retry.CHAT.delay(event.attempts), maybe_sent=False)
        done = 0
        # a resend goes alone, so that its 【重发】 mark heads the message
        alone = [[m] for e, m in claimed if e.id in resent]
        claimed = [(e, m) for e, m in claimed if e.id in resent] + batch.one_per_item(
            [(e, m) for e, m in claimed if e.id not in resent])
        fresh = batch.distinct([m for e, m in claimed if e.id not in resent])
        # pushes and notices with the same buttons on their item: a drop-down card of up to
        # ten; the rest: texts (or cards of their labelled buttons)
        by_actions: dict[tuple[str, ...], list[Message]] = {}
        for m in fresh:
            if _selectable(m):
                by_actions.setdefault(render.selection_keys(m), []).append(m)
        others = [m for m in fresh if not _selectable(m)]
        groups = [group for same in by_actions.values() for group in batch.batches(
            same, max_items=min(self.batch_items, render.SELECTION_ITEMS))]
        groups += batch.batches(others, max_items=min(self.batch_items, NOTICE_ITEMS),
                                max_actions=render.CARD_BUTTONS)
        for group in alone + groups:
            part = [(e, m) for e, m in claimed if any(m is g for g in group)]
            done += await self._send(user, part, resent)
        return done

    async def _send(self, user: str, part: list[tuple[Event, Message]], resent: set[int]) -> int:
        events = [e for e, _ in part]
        messages = batch.distinct([m for _, m in part])
        key = str(events[0].id) if len(messages) == 1 else (
            f"b{events[0].id}-{events[-1].id}-{len(events)}")
        try:
            if len(messages) == 1:
                ref = await self.port.send(user, messages[0], key=key)
            elif len({render.selection_keys(m) for m in messages}) == 1 and _selectable(
                    messages[0]):
                ref = await self.port.send_selection(user, messages, key=key)
            else:
                ref = await self.port.send(
                    user, batch.batch_message(messages, hint=batch.BATCH_BY_BUTTON), key=key)
        except PacedError as exc:
            for event in events:
                await self._failed(event, exc, timedelta(seconds=exc.retry_after),
                                   maybe_sent=False)
            return 0
        except WeComError as exc:
            if not exc.retryable:
                for event in events:
                    log.error(  # noqa: TRY400 - the refusal text says it all
                        "企业微信推送 %d 至 %s 被拒绝，不再重试：%s", event.id, user, exc)
                    await delivery.give_up(self.ctx, event, error=f"{type(exc).__name__}: {exc}")
                return 0
            for event in events:
                await self._failed(event, exc, retry.CHAT.delay(event.attempts),
                                   maybe_sent=isinstance(exc, TransportError))
            return 0
        except (JiyaoError, OSError) as exc:
            for event in events:
                await self._failed(event, exc, retry.CHAT.delay(event.attempts),
                                   maybe_sent=False)
            return 0
        await delivery.record_all_sent(self.ctx, [(e, e.id in resent) for e in events],
                                       message_ref=ref)
        self.sent += 1
        self.events_sent += len(events)
        return len(events)

    async def _failed(self, event: Event, exc: Exception, delay: timedelta, *,
                      maybe_sent: bool) -> None:
        log.warning("企业微信推送 %d 至 %s 失败（第 %d 次），%.0f 秒后重试：%s: %s", event.id,
                    event.target, event.attempts + 1, delay.total_seconds(),
                    type(exc).__name__, exc)
        await delivery.record_failure(
            self.ctx, event, error=f"{type(exc).__name__}: {exc}",
            retry_at=self.ctx.clock() + delay, maybe_sent=maybe_sent,
        )

    # ------------------------------------------------------------ rendering
    async def _message(self, user: str, event: Event, *, resend: bool) -> Message:
        settings = self.ctx.settings
        if event.event != outbox.PUSH:
            payload = event.payload
            text = str(payload.get("text") or "").strip() or "（空消息）"
            if resend:
                text = f"{RESEND_MARK}{text}"
            blob = payload.get("blob")
            file = Attachment(str(blob), str(payload.get("filename") or "附件")) if blob else None
            return text_message(text, actions_from_payload(payload.get("buttons")), file,
                                urgent=bool(payload.get("urgent")), item_id=event.item_id)
        person = person_of(settings, wecom_address(user))
        if person is None:
            raise _Refused(f"企业微信成员 {user} 不在通讯录中")
        item_id = int(event.payload.get("item_id") or event.item_id or 0)
        view = await push.push_view(self.ctx, item_id)
        if view is None:
            raise _Refused(f"收件 {item_id} 不存在")
        role = str(event.payload.get("role") or push.ROLE_STAFF)
        leader = permissions.leader_by_chat(settings, person) is not None and role in (
            push.ROLE_LEADER, push.ROLE_SUBSCRIBER)
        return push_message(
            view, settings, chat_id=person, role=role,
            purpose=str(event.payload.get("purpose") or push.PURPOSE_PUSH), leader=leader,
            escalation=int(event.payload.get("escalation") or 0), resend=resend,
            upload_limit=render.UPLOAD_LIMIT, instruct_hint=INSTRUCT_BY_BUTTON,
        )
