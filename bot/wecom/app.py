"""The WeCom adapter as a `jiyao serve` component (when `[wecom] enabled`): the API client,
the delivery loop, and the callback server whose handler calls core's services.

Reminders, the digest and 特急 escalation are moved into the outbox by `jiyao serve`'s
scheduled jobs (jiyao.jobs), whichever adapters run; this component sends them.
"""

from __future__ import annotations

import asyncio
import logging

from bot.wecom.assemble import callback_from, client_from
from bot.wecom.callback import CallbackServer
from bot.wecom.client import WeComClient
from bot.wecom.delivery import PER_USER_INTERVAL, POLL_SECONDS, TAKE_ITEMS, WeComDelivery
from bot.wecom.handler import WeComHandler
from bot.wecom.port import WeComPort
from core import retry
from core.services.chat_inbox import MAX_TRIES, RETRY, Inbox
from core.services.context import Context

log = logging.getLogger("bot.wecom")


class WeComBot:
    """Pushes to WeCom members and takes their button presses and 批示."""

    name = "企业微信"

    def __init__(self, ctx: Context, *, poll: float | None = None,
                 per_user_interval: float | None = None,
                 batch_items: int | None = None,
                 callback_retry: retry.RetryPolicy = RETRY,
                 callback_tries: int = MAX_TRIES) -> None:
        self.ctx = ctx
        #: how a callback whose handling failed transiently is tried again
        self._retry = callback_retry
        self._tries = callback_tries
        self._poll = poll
        self._interval = per_user_interval
        self._batch_items = batch_items
        self.client: WeComClient | None = None
        self.delivery: WeComDelivery | None = None
        self.server: CallbackServer | None = None

    async def start(self) -> None:
        settings = self.ctx.settings
        self.client = client_from(settings)
        blobs = self.ctx.blobs

        async def load(sha: str) -> bytes:
            return await asyncio.to_thread(blobs.get, sha)

        port = WeComPort(self.client, load)
        self.delivery = WeComDelivery(
            self.ctx, port, poll=self._poll if self._poll is not None else POLL_SECONDS,
            per_user_interval=(self._interval if self._interval is not None
                               else PER_USER_INTERVAL),
            batch_items=self._batch_items or TAKE_ITEMS)
        self.server = callback_from(settings, WeComHandler(self.ctx, port, self.wake),
                                    Inbox(self.ctx, "wecom", policy=self._retry,
                                          tries=self._tries))
        await self.server.start()
        await self.delivery.start()
        log.info("企业微信已启动：回调 %s，接口 %s", self.server.url, settings.wecom.base_url)

    def wake(self) -> None:
        if self.delivery is not None:
            self.delivery.wake()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self.delivery is not None:
            await self.delivery.stop()
            self.delivery = None
        if self.client is not None:
            await self.client.aclose()
            self.client = None
