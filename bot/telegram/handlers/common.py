"""What every handler shares: the runtime, the gate that refuses strangers, replies, errors."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram import render
from bot.telegram.delivery import Delivery
from core.errors import JiyaoError
from core.permissions import Can, Principal, principal_for
from core.services import access
from core.services.context import Context

log = logging.getLogger("bot.telegram.handlers")

Ctx = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Ctx], Coroutine[Any, Any, Any]]

#: Telegram's longest message; longer answers are split at line ends
MESSAGE_LIMIT = 4096


@dataclass
class Runtime:
    """What handlers need, kept in `application.bot_data["jiyao"]`."""

    ctx: Context
    delivery: Delivery | None = None

    def wake(self) -> None:
        """New outbox events were written: send them now."""
        if self.delivery is not None:
            self.delivery.wake()


def runtime(context: Ctx) -> Runtime:
    rt = context.application.bot_data["jiyao"]
    assert isinstance(rt, Runtime)
    return rt


def principal_of(update: Update, context: Ctx) -> Principal | None:
    """The configured person behind an update. In a private chat the chat is the user; a
    configured group chat (a section's) acts as one."""
    chat_ = update.effective_chat
    if chat_ is None:
        return None
    settings = runtime(context).ctx.settings
    if chat_.type == ChatType.PRIVATE:
        user = update.effective_user
        if user is None or user.id != chat_.id:
            return None
    return principal_for(settings, chat_.id)


def _what(update: Update) -> str:
    if update.callback_query is not None:
        return f"button {update.callback_query.data or ''}"
    message = update.effective_message
    if message is not None and message.text:
        return message.text.split(maxsplit=1)[0] if message.text.startswith("/") else "message"
    return "update"


async def gate(update: Update, context: Ctx) -> None:
    """Runs before every handler: strangers get a short refusal, the attempt is audited."""
    if principal_of(update, context) is not None:
        return
    chat_ = update.effective_chat
    user = update.effective_user
    await access.refuse(
        runtime(context).ctx, user_id=user.id if user else None,
        chat_id=chat_.id if chat_ else None, what=_what(update),
    )
    log.warning("拒绝未授权用户 %s（聊天 %s）", user.id if user else "-",
                chat_.id if chat_ else "-")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(render.REFUSAL, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(render.REFUSAL)
    except TelegramError:
        log.warning("拒绝消息未能发送", exc_info=True)
    raise ApplicationHandlerStop


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Chunks of at most `limit` characters, cut at line ends where possible."""
    chunks: list[str] = []
    current = ""
    for whole in text.split("\n"):
        line = whole
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current or "（无内容）")
    return chunks


async def reply(update: Update, text: str, *, html: bool = False, **kwargs: Any) -> None:
    message = update.effective_message
    if message is None:
        return
    for chunk in split_text(text):
        await message.reply_text(chunk, parse_mode=ParseMode.HTML if html else None, **kwargs)


def requires(what: Can, usage: str | None = None) -> Callable[[Handler], Handler]:
    """A command handler for people who may do `what`; staff errors become Chinese replies,
    bad arguments the usage text — never a stack trace."""

    def wrap(func: Handler) -> Handler:
        @functools.wraps(func)
        async def handler(update: Update, context: Ctx) -> Any:
            principal = principal_of(update, context)
            if principal is None or not principal.can(what):
                await reply(update, "您没有此项权限。发送 /help 查看您可用的命令。")
                return None
            try:
                return await func(update, context)
            except UsageError as exc:
                await reply(update, str(exc) or render.USAGE.get(usage or "", "参数有误"))
            except JiyaoError as exc:
                await reply(update, f"未能完成：{exc}")
            except OverflowError:
                # a number or date typed beyond what dates or the database can hold
                await reply(update, "未能完成：数字或日期超出范围，请检查输入。")
            return None

        return handler

    return wrap


class UsageError(Exception):
    """Bad command arguments: answered with the usage text."""


def must_principal(update: Update, context: Ctx) -> Principal:
    principal = principal_of(update, context)
    if principal is None:  # the gate refused strangers already
        raise ApplicationHandlerStop
    return principal


def args_text(update: Update) -> str:
    """Everything after the command, spaces kept (keywords and reasons may hold them)."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def on_error(update: object, context: Ctx) -> None:
    """The one error handler: log, tell the admin chat, tell the user briefly."""
    err = context.error
    log.error("处理更新时出错：%s", type(err).__name__, exc_info=err)
    settings = runtime(context).ctx.settings
    admin = settings.bot.admin_chat_id
    if admin is not None:
        text = f"【机器人出错】{type(err).__name__}: {err}"[:1000]
        try:
            await context.bot.send_message(admin, text)
        except TelegramError:
            log.warning("未能通知管理员", exc_info=True)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text("处理时出错，已通知管理员。请稍后再试。")
        except TelegramError:
            log.debug("could not tell the user about the error", exc_info=True)
