"""The Telegram adapter's side of the chat port (core.chat.port.ChatPort)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup
from telegram import Message as TgMessage
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.telegram import render
from core.chat.address import TELEGRAM
from core.chat.message import Message
from core.chat.pace import Pacer

log = logging.getLogger("bot.telegram.port")


class TelegramPort:
    """Sends neutral messages to Telegram chats: HTML when some span is strong (a push),
    plain text otherwise, buttons as an inline keyboard, a file with the text as its
    caption. With a `pacer`, every message sent is booked on it (and waits for its slot)."""

    channel = TELEGRAM

    def __init__(self, bot: Bot, load: Callable[[str], Awaitable[bytes]],
                 pacer: Pacer | None = None) -> None:
        self.bot = bot
        self._load = load
        self.pacer = pacer

    @contextlib.asynccontextmanager
    async def _slot(self, chat_id: int) -> AsyncIterator[None]:
        """One message to `chat_id`: waits for its slot, which counts from the answer."""
        if self.pacer is None:
            yield
            return
        if (wait := self.pacer.reserve(str(chat_id))) > 0:
            await asyncio.sleep(wait)
        try:
            yield
        finally:
            self.pacer.finished(str(chat_id))

    async def send(self, address: str, message: Message, *, key: str = "") -> str:
        return str((await self.send_message(int(address), message)).message_id)

    async def send_message(self, chat_id: int, message: Message) -> TgMessage:
        html = message.rich
        text = render.html_text(message) if html else message.text()
        markup = render.markup(message.actions)
        if message.file is not None:
            data = await self._load(message.file.blob)
            return await self._document(chat_id, data, message.file.filename, text, markup,
                                        html=html)
        async with self._slot(chat_id):
            return await self.bot.send_message(chat_id, text,
                                               parse_mode=ParseMode.HTML if html else None,
                                               reply_markup=markup)

    async def mark_done(self, address: str, message_ref: str, label: str) -> None:
        """Telegram has no done label: the buttons go (a press is answered with `label`)."""
        await self.bot.edit_message_reply_markup(int(address), int(message_ref),
                                                 reply_markup=None)

    async def send_file(self, address: str, data: bytes, filename: str) -> str:
        async with self._slot(int(address)):
            sent = await self.bot.send_document(int(address), document=data, filename=filename)
        return str(sent.message_id)

    async def _document(
        self, chat_id: int, data: bytes, filename: str, text: str,
        markup: InlineKeyboardMarkup | None, *, html: bool,
    ) -> TgMessage:
        """The file with the text as its caption; a text too long for a caption goes first
        as its own message (with the buttons), the file after it as a reply."""
        mode = ParseMode.HTML if html else None
        length = render.plain_length(text) if html else render.length(text)
        if length <= render.CAPTION_LIMIT:
            async with self._slot(chat_id):
                return await self.bot.send_document(chat_id, document=data, filename=filename,
                                                    caption=text, parse_mode=mode,
                                                    reply_markup=markup)
        async with self._slot(chat_id):
            message = await self.bot.send_message(chat_id, text, parse_mode=mode,
                                                  reply_markup=markup)
        try:
            async with self._slot(chat_id):
                await self.bot.send_document(chat_id, document=data, filename=filename,
                                             reply_to_message_id=message.message_id)
        except TelegramError:
            # the text (which holds the buttons) arrived; the file is a courtesy
            log.warning("推送附件未能发送（收件消息已送达）", exc_info=True)
        return message
