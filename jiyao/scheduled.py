"""A `jiyao serve` component whose work runs on its own APScheduler scheduler."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.services.context import Context

#: a run missed by more than misfire_grace_time (1 s by default) would be dropped: a late
#: sweep must still run, once
JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True,
                               "max_instances": 1}


class Scheduled(ABC):
    """A `jiyao serve` component whose work runs on its own APScheduler scheduler, in the
    office's zone; `schedule` adds its jobs."""

    ctx: Context
    scheduler: AsyncIOScheduler | None = None

    @abstractmethod
    def schedule(self, scheduler: AsyncIOScheduler) -> None: ...

    async def start(self) -> None:
        # APScheduler logs every run at INFO (the sweeper runs every minute)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(timezone=self.ctx.settings.tz)
        self.schedule(scheduler)
        scheduler.start()
        self.scheduler = scheduler

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
