"""Scheduled work for `jiyao serve`, on APScheduler whatever chat adapters run (Telegram,
WeCom, or both): the reminder sweeper, the daily digest with the periodic statistics, and
the 特急 escalation. Jobs only move rows into the outbox; the adapters' delivery loops send
them (woken at once). Reminders are rows, not scheduler jobs, so a restart loses none
(DESIGN step 7).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.reminder_plan import local_date
from core.services import circulation, reminders, stats
from core.services.context import Context
from jiyao.scheduled import JOB_KWARGS, Scheduled

log = logging.getLogger("jiyao.jobs")

#: seconds between looks for unacknowledged 特急 items
ESCALATE_SECONDS = 30.0
#: seconds after start of the first sweep and the first look for 特急
FIRST_SWEEP, FIRST_ESCALATE = 1.0, 5.0


def digest_time(text: str, tz: tzinfo) -> time | None:
    """`[schedule] digest_time` (HH:MM) in the office's zone; None when malformed."""
    try:
        hour, minute = (int(x) for x in text.split(":", 1))
        return time(hour, minute, tzinfo=tz)
    except ValueError:
        log.error(  # noqa: TRY400 - a configuration mistake, not a crash
            "schedule.digest_time 格式应为 HH:MM，收到 %r：日报不发送", text
        )
        return None


class Jobs(Scheduled):
    """The scheduled jobs as a `jiyao serve` component; `wakes` are the chat adapters'
    delivery loops (set by serve), woken when a job has queued something."""

    name = "定时任务"

    def __init__(self, ctx: Context, *, chat: bool = True,
                 escalate_every: float = ESCALATE_SECONDS, first_sweep: float = FIRST_SWEEP,
                 first_escalate: float = FIRST_ESCALATE) -> None:
        self.ctx = ctx
        #: False: no chat adapter runs, so no digest and no 特急 escalation (nobody would
        #: get them, and staff would be told the duty list was reached)
        self.chat = chat
        self.escalate_every = escalate_every
        self.first_sweep = first_sweep
        self.first_escalate = first_escalate
        self.wakes: list[Callable[[], None]] = []

    def _wake(self) -> None:
        for wake in self.wakes:
            wake()

    async def sweep(self) -> None:
        """Move due reminders into the outbox (core.services.reminders.sweep)."""
        try:
            swept = await reminders.sweep(self.ctx, self.ctx.clock())
        except Exception:
            log.exception("提醒扫描出错")
            return
        if swept.messages:
            self._wake()

    async def digest(self) -> None:
        """Queue the daily digest for registry staff (idempotent per day), and the previous
        month's and quarter's statistics (提供和录用情况), each published once: a day missed
        while the process was down is made up the next day."""
        now = self.ctx.clock()
        try:
            await reminders.enqueue_digest(self.ctx, now)
        except Exception:
            log.exception("日报生成出错")
        today = local_date(self.ctx.settings, now)
        for period in (stats.previous_month(today), stats.previous_quarter(today)):
            try:
                await reminders.enqueue_stats(self.ctx, period, now)
            except Exception:
                log.exception("统计生成出错：%s", period)
        self._wake()

    async def escalate(self) -> None:
        """特急 items nobody acknowledged in time go again, further down the duty list."""
        try:
            if await circulation.escalate_due(self.ctx):
                self._wake()
        except Exception:
            log.exception("特急提醒升级出错")

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        settings = self.ctx.settings
        now = datetime.now(settings.tz)
        scheduler.add_job(self.sweep, IntervalTrigger(seconds=settings.schedule.sweep_seconds),
                          id="reminders",
                          next_run_time=now + timedelta(seconds=self.first_sweep),
                          **JOB_KWARGS)
        if not self.chat:
            log.info("未启用聊天：定时任务只做提醒扫描（邮件催办、期限核对），不发日报，不升级特急提醒")
            return
        scheduler.add_job(self.escalate, IntervalTrigger(seconds=self.escalate_every),
                          id="urgent", next_run_time=now + timedelta(seconds=self.first_escalate),
                          **JOB_KWARGS)
        at = digest_time(settings.schedule.digest_time, settings.tz)
        if at is not None:
            scheduler.add_job(self.digest, CronTrigger(hour=at.hour, minute=at.minute,
                                                       timezone=settings.tz),
                              id="digest", **JOB_KWARGS)
