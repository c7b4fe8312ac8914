"""The WeCom adapter's side of the chat port (core.chat.port.ChatPort)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.wecom import render
from bot.wecom.client import WeComClient, WeComError
from core.chat.address import WECOM
from core.chat.message import Message

log = logging.getLogger("bot.wecom.port")

#: seconds a send may wait for the member's pacing slot before it is put off
MAX_WAIT = 5.0


class WeComPort:
    """Sends neutral messages to WeCom members: a card when there are actions, else text;
    a file after it as its own message."""

    channel = WECOM

    def __init__(self, client: WeComClient, load: Callable[[str], Awaitable[bytes]]) -> None:
        self.client = client
        self._load = load

    async def send(self, address: str, message: Message, *, key: str) -> str:
        if message.all_actions():
            sent = await self.client.send_card(address, render.card(message, key),
                                               max_wait=MAX_WAIT)
        else:
            sent = (await self.client.send_text(address, render.text(message),
                                                max_wait=MAX_WAIT))[0]
        if message.file is not None:
            data = await self._load(message.file.blob)
            try:
                await self.client.send_file(address, data, message.file.filename,
                                            max_wait=MAX_WAIT)
            except WeComError:
                # the card (which holds the buttons) arrived; the file is a courtesy
                log.warning("企业微信附件未能发送（消息已送达）", exc_info=True)
        return sent.msgid

    async def send_selection(self, address: str, messages: list[Message], *, key: str) -> str:
        """Several pushes as one drop-down card (render.selection_card); its message ref."""
        card = render.selection_card(messages, key)
        return (await self.client.send_card(address, card, max_wait=MAX_WAIT)).msgid

    async def mark_done(self, address: str, message_ref: str, label: str) -> None:
        await self.client.update_card([address], message_ref, label)

    async def send_file(self, address: str, data: bytes, filename: str) -> str:
        return (await self.client.send_file(address, data, filename, max_wait=MAX_WAIT)).msgid

    async def say(self, address: str, text: str) -> str:
        """A short answer (no actions)."""
        return (await self.client.send_text(address, text, max_wait=MAX_WAIT))[0].msgid
