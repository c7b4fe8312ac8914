"""The WeCom adapter as a `jiyao serve` component (when `[wecom] enabled`): the API client,
the delivery loop, and the callback server whose handler calls core's services.

Reminders and 特急 escalation are moved into the outbox by the Telegram bot's jobs; an
office without a Telegram bot gets the same two sweeps here (both are idempotent, so
running them beside Telegram's would do no harm either).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.wecom.assemble import callback_from, client_from
from bot.wecom.callback import CallbackServer
from bot.wecom.client import WeComClient
from bot.wecom.delivery import PER_USER_INTERVAL, POLL_SECONDS, TAKE_ITEMS, WeComDelivery
from bot.wecom.handler import WeComHandler
from bot.wecom.port import WeComPort
from core.services import circulation, reminders
from core.services.context import Context

log = logging.getLogger("bot.wecom")

#: seconds between looks for unacknowledged 特急 items (as the Telegram job)
ESCALATE_SECONDS = 30.0


class WeComBot:
    """Pushes to WeCom members and takes their button presses and 批示."""

    name = "企业微信"

    def __init__(self, ctx: Context, *, poll: float | None = None,
                 per_user_interval: float | None = None,
                 jobs: bool | None = None, batch_items: int | None = None) -> None:
        self.ctx = ctx
        self._poll = poll
        self._interval = per_user_interval
        self._batch_items = batch_items
        #: run the reminder and 特急 sweeps here (default: when no Telegram bot runs)
        self._jobs = ctx.settings.bot_token() is None if jobs is None else jobs
        self.client: WeComClient | None = None
        self.delivery: WeComDelivery | None = None
        self.server: CallbackServer | None = None
        self._sweeps: asyncio.Task[None] | None = None

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
        self.server = callback_from(settings, WeComHandler(self.ctx, port, self.wake))
        await self.server.start()
        await self.delivery.start()
        if self._jobs:
            self._sweeps = asyncio.create_task(self._sweep(), name="wecom-sweeps")
        log.info("企业微信已启动：回调 %s，接口 %s", self.server.url, settings.wecom.base_url)

    def wake(self) -> None:
        if self.delivery is not None:
            self.delivery.wake()

    async def _sweep(self) -> None:
        every = min(ESCALATE_SECONDS, float(self.ctx.settings.schedule.sweep_seconds))
        while True:
            await asyncio.sleep(every)
            try:
                swept = await reminders.sweep(self.ctx, self.ctx.clock())
                moved = bool(await circulation.escalate_due(self.ctx)) or swept.messages > 0
            except Exception:
                log.exception("提醒扫描或特急升级出错")
                continue
            if moved:
                self.wake()

    async def stop(self) -> None:
        if self._sweeps is not None:
            self._sweeps.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeps
            self._sweeps = None
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self.delivery is not None:
            await self.delivery.stop()
            self.delivery = None
        if self.client is not None:
            await self.client.aclose()
            self.client = None
