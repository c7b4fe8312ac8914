"""A runner: one loop that takes what is due from the outbox and disposes of it (GNU
Mailman's Runner is the model). The chat delivery and the return mailer are runners.

Woken at once after a write (`wake`), otherwise it looks every `poll` seconds; a round that
fails is logged and the loop goes on (the events stay in the outbox); `stop` lets the work
in progress finish for `grace` seconds, then cancels it.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging

from core.services.context import Context

log = logging.getLogger("core.runner")


class Runner(abc.ABC):
    """Subclasses implement `pump`; `tasks` adds work they started beside the loop."""

    #: the runner's name for staff (logs)
    name: str = "发件箱"

    def __init__(self, ctx: Context, *, poll: float, grace: float) -> None:
        self.ctx = ctx
        self.poll = poll
        self.grace = grace
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abc.abstractmethod
    async def pump(self) -> bool:
        """Dispose of what is due now; True when more is waiting (look again at once)."""

    async def starting(self) -> None:  # noqa: B027 - a hook; most runners need nothing
        """Called once before the loop starts."""

    def tasks(self) -> list[asyncio.Task[None]]:
        """Work in progress besides the loop, awaited (then cancelled) by `stop`."""
        return []

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set()

    async def start(self) -> None:
        await self.starting()
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when the runner is stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), timeout=seconds)

    async def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        running = [t for t in (self._task, *self.tasks()) if t is not None]
        if running:
            _done, late = await asyncio.wait(running, timeout=self.grace)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = None

    async def _run(self) -> None:
        while not self.stopping:
            try:
                busy = await self.pump()
            except Exception:
                log.exception("%s循环出错，稍后重试", self.name)
                busy = False
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)
            self._wake.clear()
