"""The nightly integrity check as a `jiyao serve` / `jiyao intake` component."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from core.services.context import Context
from jiyao.scheduled import JOB_KWARGS, Scheduled

log = logging.getLogger("jiyao.nightly")


class NightlyCheck(Scheduled):
    """`jiyao check --full` each night at `[schedule] check_time` (office time), in
    `jiyao serve` and `jiyao intake` with or without chat: the incremental runs staff start
    by hand stay cheap, and everything is re-verified daily. Problems are logged and go to
    registry staff (admin.nightly_check)."""

    name = "夜间完整性检查"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        hour, minute = (int(x) for x in ctx.settings.schedule.check_time.split(":"))
        self.trigger = CronTrigger(hour=hour, minute=minute, timezone=ctx.settings.tz)

    def next_run(self, now: datetime) -> datetime:
        """The next `check_time` after `now`."""
        at: datetime | None = self.trigger.get_next_fire_time(
            None, now + timedelta(microseconds=1))
        assert at is not None  # a daily trigger always fires again
        return at

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        scheduler.add_job(self.run_once, self.trigger, id="nightly-check", **JOB_KWARGS)

    async def run_once(self) -> None:
        # imported when it runs: the edge's process (`jiyao intake`) carries no more than
        # it accepts with until then
        from core.services import admin

        try:
            report = await admin.nightly_check(self.ctx)
        except Exception:
            log.exception("夜间完整性检查出错")
            return
        if report.problems:
            log.error("夜间完整性检查发现 %d 个问题（已通知登记人员）：%s", len(report.problems),
                      "；".join(report.problems[:10]))
        else:
            log.info("夜间完整性检查通过：%s", "；".join(report.checked))
