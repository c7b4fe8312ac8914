"""Chat notices to registry staff, written in the transaction of the change they tell of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import localtime
from core.chat.address import addresses_of
from core.config import Settings
from core.routing import registry_staff
from core.services.context import Context
from core.storage import outbox
from core.storage.db import Row, UnitOfWork
from core.visibility import Facts, Policy, Viewer, label, shown

ACTOR_BOT = "bot"
#: staff notice events
EVENT_NOTICE = "chat_notice"


def local_time(settings: Settings, at: datetime) -> str:
    """3月2日 17:05 in the office's timezone."""
    return localtime.month_day_zh(at, settings.tz)


def item_label(settings: Settings, item: Row, number: str | None) -> str:
    """办2026-0001《标题》 in a notice to registry staff (core.visibility decides the title)."""
    ref = number or f"收件序号 {item['id']}"
    seen = shown(Facts(item["outcome"], item["secrecy"]), Viewer.STAFF, Policy.of(settings))
    return label(ref, item["title"], seen)


def registry_name(settings: Settings) -> str:
    """The registry as the holder of an item: its first registrar (文书处理室)."""
    first = registry_staff(settings)[:1]
    return next((s.name for s in settings.staff if first and s.chat_id == first[0]), "收文登记")


def chat_payload(text: str, **extra: Any) -> dict[str, Any]:
    """A plain chat message: text, no buttons, no file, not urgent (unless `extra` says)."""
    return {"text": text, "buttons": [], "blob": None, "filename": None, "urgent": False,
            **extra}


async def notify_staff(
    ctx: Context, uow: UnitOfWork, *, text: str, at: datetime, item_id: int | None,
    chats: tuple[int, ...] | None = None, event: str = EVENT_NOTICE,
) -> None:
    for chat_id in chats if chats is not None else registry_staff(ctx.settings):
        for to in addresses_of(ctx.settings, chat_id):
            await outbox.enqueue(
                uow, channel=outbox.CHAT, event=event, target=to.target,
                payload=chat_payload(text),
                at=at, item_id=item_id,
            )
