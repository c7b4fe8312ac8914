"""A chat platform's callbacks, kept before the platform is answered and marked handled
after (core.storage.chat_inbox): nothing a leader sent is lost in a restart, and a retry
is recognised across one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from core.services.context import Context
from core.storage import chat_inbox as repo

#: handled callbacks are forgotten after this (a platform retries within minutes)
KEEP_DONE = timedelta(days=1)
#: forget handled callbacks once every this many kept
FORGET_EVERY = 200


class Inbox:
    """The callbacks of one channel (e.g. "wecom")."""

    def __init__(self, ctx: Context, channel: str) -> None:
        self.ctx = ctx
        self.channel = channel
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

    async def waiting(self) -> list[tuple[str, dict[str, str]]]:
        """What was kept and not handled (a stop or a crash came first), oldest first; asked
        at each start, which also forgets what was handled long ago."""
        async with self.ctx.db.unit_of_work() as uow:
            await repo.forget_done(uow, self.ctx.clock() - KEEP_DONE)
            left = await repo.waiting(uow, self.channel)
            await uow.commit()
        return left
