"""The chat port: what an adapter (bot/telegram, bot/wecom) does with a neutral message.

The delivery bookkeeping (claim, record, retry: core.services.delivery) is the same for
every adapter; only these calls differ. A message ref is the platform's id of what was
sent, as text (Telegram's message id, WeCom's msgid), recorded with (channel, address).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.chat.message import Message


@runtime_checkable
class ChatPort(Protocol):
    #: the channel of the addresses it serves (core.chat.address)
    channel: str

    async def send(self, address: str, message: Message, *, key: str) -> str:
        """Send `message` (with its actions and file) to `address`; its message ref. `key`
        is the same for a resend of the same delivery (the platform may recognise it)."""
        ...

    async def mark_done(self, address: str, message_ref: str, label: str) -> None:
        """Replace the actions of a sent message by one done label (e.g. 已阅); `message_ref`
        is the platform's handle on it (WeCom: the response code of the card or press)."""
        ...

    async def send_file(self, address: str, data: bytes, filename: str) -> str:
        """A file alone; its message ref."""
        ...
