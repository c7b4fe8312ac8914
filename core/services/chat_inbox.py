"""A chat platform's callbacks, kept before the platform is answered and marked handled
after (core.storage.chat_inbox): nothing a leader sent is lost in a restart, and a retry
is recognised across one.

A callback whose handling failed is not marked handled: a transient failure is tried
again with the one retry policy (core.retry), its tries counted in the database so that
the backoff and the bound hold across a restart; a permanent failure, or the last try,
marks it failed with its reason, audited, and registry staff are told in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from core import retry
from core.chat.address import Address, person_of
from core.permissions import chat_name
from core.routing import registry_staff
from core.services.context import Context
from core.services.notify import ACTOR_BOT, local_time, notify_staff, registry_name
from core.storage import audit
from core.storage import chat_inbox as repo
from core.storage.chat_inbox import Kept
from core.storage.db import UnitOfWork

__all__ = ["Inbox", "Kept", "Waiting", "failed", "summary"]

#: handled callbacks are forgotten after this (a platform retries within minutes)
KEEP_DONE = timedelta(days=1)
#: forget handled callbacks once every this many kept
FORGET_EVERY = 200
#: the backoff of a callback's tries: chat's (1 s doubling to 5 min)
RETRY = retry.CHAT
#: tries in all, the first included: with RETRY about 13 minutes of a platform (or the
#: database) being away
MAX_TRIES = 10
#: characters of a failed message's text quoted to staff
QUOTE = 200


@dataclass(frozen=True)
class Waiting:
    """A callback to try (again): its key, its fields, its failed tries so far, and the
    seconds until its next try is due (0: now)."""

    key: str
    fields: dict[str, str]
    attempts: int = 0
    due_in: float = 0.0


class Inbox:
    """The callbacks of one channel (e.g. "wecom")."""

    def __init__(self, ctx: Context, channel: str, *, policy: retry.RetryPolicy = RETRY,
                 tries: int = MAX_TRIES) -> None:
        self.ctx = ctx
        self.channel = channel
        self.policy = policy
        self.tries = max(1, tries)
        self._kept = 0

    async def keep(self, key: str, fields: Mapping[str, str]) -> bool:
        """Keep a callback, durably; False when it was kept before (a retry)."""
        now = self.ctx.clock()
        self._kept += 1
        async with self.ctx.db.unit_of_work() as uow:
            new = await repo.keep(uow, self.channel, key, dict(fields), now)
            if self._kept % FORGET_EVERY == 0:
                await repo.forget_done(uow, now - KEEP_DONE)
            await uow.commit()
        return new

    async def done(self, key: str) -> None:
        async with self.ctx.db.unit_of_work() as uow:
            await repo.done(uow, self.channel, key, self.ctx.clock())
            await uow.commit()

    async def retry(self, key: str, error: str) -> float | None:
        """A try failed for a reason that may pass: the seconds until the next try, or None
        when the tries ran out (then it is marked failed and staff are told)."""
        now = self.ctx.clock()
        async with self.ctx.db.unit_of_work() as uow:
            kept = await repo.get(uow, self.channel, key)
            if kept is None or kept.attempts + 1 >= self.tries:
                if kept is not None:
                    await self._fail(uow, kept, error, exhausted=True)
                await uow.commit()
                return None
            delay = self.policy.delay(kept.attempts)
            await repo.retry_later(uow, self.channel, key, error=error, retry_at=now + delay)
            await uow.commit()
        return delay.total_seconds()

    async def failed(self, key: str, error: str) -> None:
        """A try failed for a reason trying again cannot cure: marked failed, staff told."""
        async with self.ctx.db.unit_of_work() as uow:
            kept = await repo.get(uow, self.channel, key)
            if kept is not None:
                await self._fail(uow, kept, error, exhausted=False)
            await uow.commit()

    async def _fail(self, uow: UnitOfWork, kept: Kept, error: str, *,
                    exhausted: bool) -> None:
        now = self.ctx.clock()
        if not await repo.mark_failed(uow, self.channel, kept.key, error=error, at=now):
            return
        tries = kept.attempts + 1
        await audit.append(
            uow, at=now, actor=ACTOR_BOT, action="chat.callback_failed",
            subject=f"{self.channel}:{kept.fields.get('FromUserName', '')[:64]}",
            detail={"key": kept.key[:200], "tries": tries, "error": error[:300],
                    "exhausted": exhausted})
        await notify_staff(uow=uow, ctx=self.ctx, at=now, item_id=None,
                           text=self._notice(kept, error, tries, exhausted))
        # and the sender, if known and not staff (told above), without the error's text
        sender = person_of(self.ctx.settings, Address(self.channel,
                                                      kept.fields.get("FromUserName", "")))
        if sender is not None and sender not in registry_staff(self.ctx.settings):
            await notify_staff(uow=uow, ctx=self.ctx, at=now, item_id=None, chats=(sender,),
                               text=self._sender_notice(kept))

    def _notice(self, kept: Kept, error: str, tries: int, exhausted: bool) -> str:
        """The staff notice of a callback given up, in Chinese."""
        who = _person(self.ctx, self.channel, kept.fields.get("FromUserName", ""))
        what = _what(kept.fields)
        why = (f"重试 {tries} 次仍未成功" if exhausted else "处理出错，重试无益")
        return "\n".join([
            (f"【聊天回调处理失败】{who}于 {local_time(self.ctx.settings, kept.received_at)}"
             f"发来的{what}"),
            f"{why}，未能处理：{error[:200]}",
            "其中的批示或操作可能未记录，对方也可能未收到答复：请与其核实，必要时请其重新发送。",
        ])

    def _sender_notice(self, kept: Kept) -> str:
        """What the sender of a callback given up is told, in Chinese."""
        registry = registry_name(self.ctx.settings)
        return (f"您于 {local_time(self.ctx.settings, kept.received_at)}发来的"
                f"{_what(kept.fields)}系统未能处理，已告知{registry}与您核实。"
                f"如为批示或操作，请稍后重新发送，或直接告知{registry}。")

    async def waiting(self) -> list[Waiting]:
        """What was kept and not handled nor given up (a stop, a crash or a retry's wait
        came first), oldest first; asked at each start, which also forgets what was handled
        long ago."""
        now = self.ctx.clock()
        async with self.ctx.db.unit_of_work() as uow:
            await repo.forget_done(uow, now - KEEP_DONE)
            left = await repo.waiting(uow, self.channel)
            await uow.commit()
        return [Waiting(k.key, k.fields, k.attempts,
                        max(0.0, (k.retry_at - now).total_seconds()) if k.retry_at else 0.0)
                for k in left]


def _what(f: Mapping[str, str]) -> str:
    """A callback in a few words for a notice: 消息：“…”, 按钮操作（…）."""
    if f.get("MsgType") == "text":
        text = f.get("Content", "")
        return f"消息：“{text[:QUOTE]}{'……' if len(text) > QUOTE else ''}”"
    if f.get("EventKey"):
        return f"按钮操作（{f['EventKey'][:64]}）"
    return f"回调（{f.get('MsgType', '')}/{f.get('Event', '')}）"


def _person(ctx: Context, channel: str, user: str) -> str:
    chat_id = person_of(ctx.settings, Address(channel, user))
    name = chat_name(ctx.settings, chat_id) if chat_id is not None else ""
    label = f"{channel}:{user[:64]}"
    return f"{name}（{label}）" if name and name != str(chat_id) else label


async def failed(ctx: Context, channel: str | None = None, *, limit: int = 100) -> list[Kept]:
    """Callbacks given up, newest first: for staff to see (jiyao queue)."""
    async with ctx.db.reader() as r:
        return await repo.failed(r, channel, limit=limit)


def summary(kept: Kept) -> str:
    """What a failed callback was, in a few words: 消息“…” or 按钮 a:12."""
    f = kept.fields
    if f.get("MsgType") == "text":
        text = f.get("Content", "").replace("\n", " ")
        return f"消息“{text[:30]}{'……' if len(text) > 30 else ''}”"
    if f.get("EventKey"):
        return f"按钮 {f['EventKey'][:64]}"
    return f"回调 {f.get('MsgType', '')}/{f.get('Event', '')}"
