"""The chat bot as a `jiyao serve` component: PTB on the process's own event loop.

`run_polling` would own the loop; beside the SMTP edge we call initialize →
updater.start_polling → start ourselves, and stop in reverse. `[bot] base_url` points it
at any Bot API server (Telegram's, a self-hosted one, or the tests' fake).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ExtBot

from bot.telegram import handlers
from bot.telegram.delivery import Delivery
from bot.telegram.handlers.common import Runtime
from bot.telegram.menu import commands_for
from core.errors import ConfigError
from core.permissions import known_chats, principal_for
from core.services.context import Context

log = logging.getLogger("bot")

#: Telegram allows about 30 messages a second overall. aiolimiter lets a full bucket
#: through at once and then refills it: a bucket of one refilled 28 times a second never
#: puts more than 29 sends in any one-second window.
OVERALL_PER_SECOND = 28
#: 429s the rate limiter waits out itself before the delivery loop reschedules the event
RATE_LIMIT_RETRIES = 3
#: seconds between attempts to reach an unreachable Bot API at start-up (doubling, capped)
RECONNECT_FIRST, RECONNECT_MAX = 5.0, 300.0

App = Application[Any, Any, Any, Any, Any, Any]


def quiet_logs() -> None:
    """httpx logs every request URL at INFO, and the URL holds the bot token."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_application(ctx: Context, token: str) -> App:
    settings = ctx.settings.bot
    limiter = AIORateLimiter(
        overall_max_rate=1, overall_time_period=1 / OVERALL_PER_SECOND,
        max_retries=RATE_LIMIT_RETRIES,
    )
    app = (
        Application.builder()
        .token(token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .rate_limiter(limiter)
        .build()
    )
    handlers.install(app)
    return app


class ChatBot:
    """Pushes items, takes 批示 and commands; started and stopped by `jiyao serve`."""

    name = "机器人"

    def __init__(self, ctx: Context, *, poll: float | None = None) -> None:
        self.ctx = ctx
        self._poll = poll
        self.app: App | None = None
        self.delivery: Delivery | None = None
        self._setup: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the bot. An unreachable Bot API does not stop `serve` (intake must keep
        running): the bot keeps trying in the background; a refused token is logged."""
        token = self.ctx.settings.bot_token()
        if token is None:
            raise ConfigError(
                "-", "bot.token", "未配置机器人令牌（JIYAO_BOT__TOKEN 或 token_file）"
            )
        quiet_logs()
        if not await self._attempt(token):
            self._retry = asyncio.create_task(self._reconnect(token), name="bot-reconnect")

    async def _attempt(self, token: str) -> bool:
        """One try at starting; False when the Bot API could not be reached."""
        app = build_application(self.ctx, token)
        rt = Runtime(self.ctx)
        app.bot_data["jiyao"] = rt
        self.app = app
        try:
            await self._start(app, rt)
        except InvalidToken:
            await self._teardown()
            log.error(  # noqa: TRY400 - a configuration problem, the traceback says nothing
                "Bot API 拒绝了机器人令牌：机器人未启动（收文不受影响），请检查 JIYAO_BOT__TOKEN"
            )
            return True
        except NetworkError as exc:
            await self._teardown()
            log.warning("无法连接 Bot API（%s），稍后重试；收文不受影响", type(exc).__name__)
            return False
        except BaseException:
            await self._teardown()
            raise
        log.info("机器人已启动：@%s", app.bot.username)
        return True

    async def _reconnect(self, token: str) -> None:
        delay = RECONNECT_FIRST
        while True:
            await asyncio.sleep(delay)
            if await self._attempt(token):
                return
            delay = min(delay * 2, RECONNECT_MAX)

    async def _start(self, app: App, rt: Runtime) -> None:
        await app.initialize()
        kwargs = {} if self._poll is None else {"poll": self._poll}
        self.delivery = Delivery(self.ctx, app.bot, **kwargs)
        rt.delivery = self.delivery
        updater = app.updater
        assert updater is not None
        await updater.start_polling(
            timeout=timedelta(seconds=self.ctx.settings.bot.poll_timeout),
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            error_callback=self._polling_error,
        )
        await app.start()
        await self.delivery.start()
        self._setup = asyncio.create_task(set_commands(app.bot, self.ctx), name="bot-commands")

    def wake(self) -> None:
        """Send what was just queued (the scheduled jobs call this)."""
        if self.delivery is not None:
            self.delivery.wake()

    @staticmethod
    def _polling_error(exc: TelegramError) -> None:
        # PTB retries polling itself; the message never holds the token (httpx is quiet)
        log.warning("拉取消息出错（将自动重试）：%s: %s", type(exc).__name__, exc)

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        await self._teardown()

    async def _teardown(self) -> None:
        if self._setup is not None:
            self._setup.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._setup
        if self.delivery is not None:
            await self.delivery.stop()
            self.delivery = None
        app = self.app
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        with contextlib.suppress(RuntimeError):  # never initialised: nothing to shut down
            await app.shutdown()
        self.app = None


async def set_commands(bot: ExtBot[Any], ctx: Context) -> None:
    """The command menu per person (setMyCommands with a chat scope); strangers see /help."""
    settings = ctx.settings
    try:
        await bot.set_my_commands([BotCommand("help", "我能做什么")],
                                  scope=BotCommandScopeDefault())
    except TelegramError as exc:
        log.warning("设置默认命令菜单失败：%s", exc)
    for chat_id in known_chats(settings):
        principal = principal_for(settings, chat_id)
        if principal is None:
            continue
        commands = [BotCommand(c, d) for c, d in commands_for(principal)]
        try:
            await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:
            # a chat that never opened the bot is unknown to Telegram until it does
            log.info("未能为 %s 设置命令菜单：%s", principal.name, exc)
