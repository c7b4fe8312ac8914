"""Scheduled work through PTB's JobQueue (APScheduler 3): the reminder sweeper, the daily
digest and the 特急 escalation. Jobs only move rows into the outbox; the delivery loop
sends them. Reminders are rows, not PTB jobs, so a restart loses none (DESIGN step 7).
"""

from __future__ import annotations

import logging
from datetime import time
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.telegram.handlers.common import Runtime
from core.reminder_plan import local_date
from core.services import circulation, reminders, stats

log = logging.getLogger("bot.telegram.jobs")

#: seconds between looks for unacknowledged 特急 items
ESCALATE_SECONDS = 30.0
#: APScheduler drops a run missed by more than misfire_grace_time (1 s by default): a
#: late sweep must still run, once
_JOB_KWARGS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}

def _runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    job = context.job
    assert job is not None
    assert isinstance(job.data, Runtime)
    return job.data


async def sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Move due reminders into the outbox (core.services.reminders.sweep)."""
    rt = _runtime(context)
    try:
        await reminders.sweep(rt.ctx, rt.ctx.clock())
    except Exception:
        log.exception("提醒扫描出错")
    rt.wake()


async def digest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue the daily digest for registry staff (idempotent per day), and the previous
    month's and quarter's statistics (提供和录用情况), each published once: a day missed
    while the process was down is made up the next day."""
    rt = _runtime(context)
    now = rt.ctx.clock()
    try:
        await reminders.enqueue_digest(rt.ctx, now)
    except Exception:
        log.exception("日报生成出错")
    today = local_date(rt.ctx.settings, now)
    for period in (stats.previous_month(today), stats.previous_quarter(today)):
        try:
            await reminders.enqueue_stats(rt.ctx, period, now)
        except Exception:
            log.exception("统计生成出错：%s", period)
    rt.wake()


async def escalate_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """特急 items nobody acknowledged in time go again, further down the duty list."""
    rt = _runtime(context)
    try:
        if await circulation.escalate_due(rt.ctx):
            rt.wake()
    except Exception:
        log.exception("特急提醒升级出错")


def _digest_time(text: str, rt: Runtime) -> time | None:
    try:
        hour, minute = (int(x) for x in text.split(":", 1))
        return time(hour, minute, tzinfo=rt.ctx.settings.tz)
    except ValueError:
        log.error(  # noqa: TRY400 - a configuration mistake, not a crash
            "schedule.digest_time 格式应为 HH:MM，收到 %r：日报不发送", text
        )
        return None


def schedule(app: Application[Any, Any, Any, Any, Any, Any], rt: Runtime) -> None:
    queue = app.job_queue
    if queue is None:
        log.error("JobQueue 不可用（需安装 python-telegram-bot[job-queue]）：提醒与特急升级未启动")
        return
    settings = rt.ctx.settings
    queue.run_repeating(sweep_job, interval=settings.schedule.sweep_seconds, first=1.0,
                        name="reminders", data=rt, job_kwargs=_JOB_KWARGS)
    queue.run_repeating(escalate_job, interval=ESCALATE_SECONDS, first=5.0,
                        name="urgent", data=rt, job_kwargs=_JOB_KWARGS)
    at = _digest_time(settings.schedule.digest_time, rt)
    if at is not None:
        queue.run_daily(digest_job, time=at, name="digest", data=rt, job_kwargs=_JOB_KWARGS)
