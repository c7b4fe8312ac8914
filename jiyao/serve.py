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


def mailer_component(ctx: Context) -> Component | None:
    if not ctx.settings.smarthost.enabled:
        log.info("退回通知邮件已停用（[smarthost] enabled = false），通知留在发件箱中")
        return None
    from intake_daemon.mailer import ReturnMailer

    return ReturnMailer(ctx)


def bot_component(ctx: Context) -> Component | None:
    if ctx.settings.bot_token() is None:
        log.warning("未配置机器人令牌（JIYAO_BOT__TOKEN），机器人与定时提醒未启动")
        return None
    from bot.app import ChatBot

    bot: Component = ChatBot(ctx)
    return bot


PARTS: dict[str, tuple[ComponentFactory, ...]] = {
    "serve": (intake_component, mailer_component, bot_component),
    "intake": (intake_component, mailer_component),
    "bot": (bot_component,),
}


async def run(settings: Settings, factories: Sequence[ComponentFactory]) -> int:
    """Start the components, wait for SIGTERM/SIGINT, stop them in reverse order."""
    ctx = await open_context(settings)
    started: list[Component] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        log.info("数据目录：%s", settings.storage.data_dir.resolve())
        if routed := await push.route_waiting(ctx):
            log.info("已分发早先版本留下的 %d 件待推送收件", routed)
        for factory in factories:
            component = factory(ctx)
            if component is None:
                continue
            await component.start()
            started.append(component)
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
