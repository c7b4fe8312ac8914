"""The outbox seen from the adapters: which events are due for them to send.

Events are written by the services in the transaction of the change that causes them
(core.storage.outbox); the chat and mail adapters take what is due from here and report
back through core.services.delivery.
"""

from __future__ import annotations

from datetime import datetime

from core.services.context import Context
from core.storage import outbox as repo
from core.storage.outbox import CHAT, MAIL, PUSH, Event

__all__ = ["CHAT", "MAIL", "PUSH", "Event", "due_chat", "due_mail"]


async def due_chat(
    ctx: Context, now: datetime, *, per_chat: int, limit: int, wecom: bool = False
) -> list[Event]:
    """Chat events due by `now`, a few per chat, urgent ones first: Telegram's, or with
    `wecom` those to WeCom members."""
    async with ctx.db.reader() as r:
        return await repo.sendable_events(r, now, per_chat, limit, wecom=wecom)


async def due_mail(ctx: Context, now: datetime, limit: int = 100) -> list[Event]:
    """Mail events (return notices) due by `now`, oldest first."""
    async with ctx.db.reader() as r:
        return await repo.pending(r, MAIL, now, limit)
