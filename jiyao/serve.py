"""The composition root: build the context and the adapters, run them on one loop, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Protocol

from core.config import Settings
from core.services import push
from core.services.context import Context, open_context
from jiyao import logs

log = logging.getLogger("jiyao.serve")


class Component(Protocol):
    """An adapter run by `serve`: started in order, stopped in reverse order."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ComponentFactory = Callable[[Context], Component | None]


def intake_component(ctx: Context) -> Component | None:
    from intake_daemon.app import IntakeDaemon

    return IntakeDaemon(ctx)


def pipeline_component(ctx: Context) -> Component | None:
    if ctx.settings.pipeline.workers == 0:
        log.warning("未启动收文处理进程（[pipeline] workers = 0），请另行运行 jiyao pipeline")
        return None
    from jiyao.pipeline import PipelineProcesses

    return PipelineProcesses(ctx)


def mailer_component(ctx: Context) -> Component | None:
    if not ctx.settings.smarthost.enabled:
        log.info("退回通知邮件已停用（[smarthost] enabled = false），通知留在发件箱中")
        return None
    from intake_daemon.mailer import ReturnMailer

    return ReturnMailer(ctx)


def bot_component(ctx: Context) -> Component | None:
    if ctx.settings.bot_token() is None:
        if ctx.settings.wecom.enabled:
            log.info("未配置机器人令牌（JIYAO_BOT__TOKEN），Telegram 机器人未启动")
        else:
            log.warning("未配置机器人令牌（JIYAO_BOT__TOKEN），也未启用企业微信：不推送到聊天")
        return None
    from bot.telegram.app import ChatBot

    bot: Component = ChatBot(ctx)
    return bot


def wecom_component(ctx: Context) -> Component | None:
    if not ctx.settings.wecom.enabled:
        return None
    from bot.wecom.app import WeComBot

    wecom: Component = WeComBot(ctx)
    return wecom


def _chat(ctx: Context) -> bool:
    return ctx.settings.bot_token() is not None or ctx.settings.wecom.enabled


def jobs_component(ctx: Context) -> Component | None:
    """Reminders, the daily digest and 特急 escalation, whichever chat adapters run; with
    none, the reminder sweep alone: 催办 by mail and the deadlines' reconciliation need no
    chat (what it queues for chat waits in the outbox for an adapter, as pushes do)."""
    from jiyao.jobs import Jobs

    jobs: Component = Jobs(ctx, chat=_chat(ctx))
    return jobs


def chat_jobs_component(ctx: Context) -> Component | None:
    """`jiyao bot`'s jobs: none without a chat adapter (it then has nothing to run)."""
    return jobs_component(ctx) if _chat(ctx) else None


def nightly_check_component(ctx: Context) -> Component | None:
    if not ctx.settings.schedule.check_time:
        log.info("夜间完整性检查已停用（[schedule] check_time 为空）")
        return None
    from jiyao.nightly import NightlyCheck

    return NightlyCheck(ctx)


# the pipeline starts before the edge and stops after it: the edge's last 250s are decided
def pipeline_only_component(ctx: Context) -> Component | None:
    from jiyao.pipeline import PipelineProcesses

    return PipelineProcesses(ctx, workers=max(1, ctx.settings.pipeline.workers))


PARTS: dict[str, tuple[ComponentFactory, ...]] = {
    "serve": (pipeline_component, intake_component, mailer_component, bot_component,
              wecom_component, jobs_component, nightly_check_component),
    "intake": (pipeline_component, intake_component, mailer_component,
               nightly_check_component),
    "pipeline": (pipeline_only_component,),
    "bot": (bot_component, wecom_component, chat_jobs_component),
}


def _wire(components: Sequence[Component]) -> None:
    """An in-process pipeline is woken by each message the edge accepts; the scheduled
    jobs wake the chat adapters when they queued something."""
    wakes: list[Callable[[], None]] = [
        getattr(c, "wake") for c in components if callable(getattr(c, "wake", None))  # noqa: B009
    ]
    # told of each accept alone (the scheduled jobs' queueing is not one): worker
    # processes the edge's process started, who let it go first in a burst
    accepts: list[Callable[[], None]] = [
        getattr(c, "accepted") for c in components  # noqa: B009
        if callable(getattr(c, "accepted", None))
    ]
    on_accepted = wakes + accepts
    for c in components:
        handler = getattr(c, "handler", None)
        if handler is not None and hasattr(handler, "on_accepted") and on_accepted:
            handler.on_accepted = lambda: [hook() for hook in on_accepted]
        jobs_wakes = getattr(c, "wakes", None)
        if isinstance(jobs_wakes, list):
            jobs_wakes.extend(wakes)


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when `[smtp] uvloop` asks for it and it can be had, else None
    (asyncio's own)."""
    if not settings.smtp.uvloop:
        return None
    if settings.smtp.tls_cert is not None:
        log.warning("已配置 STARTTLS：不使用 uvloop（[smtp] uvloop 被忽略）")
        return None
    try:
        import uvloop
    except ImportError:
        log.warning("未安装 uvloop（pip install -e '.[uvloop]'）：使用 asyncio 默认事件循环")
        return None
    log.info("事件循环：uvloop")
    return uvloop.new_event_loop


def run_forever(settings: Settings, factories: Sequence[ComponentFactory]) -> int:
    """`run` on the event loop `[smtp] uvloop` chooses."""
    with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
        return runner.run(run(settings, factories))


async def run(settings: Settings, factories: Sequence[ComponentFactory]) -> int:
    """Start the components, wait for SIGTERM/SIGINT, stop them in reverse order."""
    ctx = await open_context(settings)
    started: list[Component] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logs.use_zone(settings.tz, settings.office.timezone)
    try:
        log.info("数据目录：%s", settings.storage.data_dir.resolve())
        if removed := await asyncio.to_thread(ctx.blobs.remove_stale_temps):
            log.warning("已清除上次异常退出留下的临时文件 %d 个：%s", len(removed),
                        "、".join(str(p) for p in removed))
        if routed := await push.route_waiting(ctx):
            log.info("已分发早先版本留下的 %d 件待推送收件", routed)
        for factory in factories:
            component = factory(ctx)
            if component is None:
                continue
            await component.start()
            started.append(component)
        _wire(started)
        if not started:
            log.warning("没有可运行的组件，退出")
            return 1
        log.info("已启动：%s；按 Ctrl-C 或发送 SIGTERM 停止", "、".join(c.name for c in started))
        await stop.wait()
        log.info("正在停止…")
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                log.exception("停止 %s 时出错", component.name)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await ctx.db.close()
        log.info("已停止")
    return 0
