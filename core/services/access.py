"""Refusals: someone the configuration does not know used a chat adapter."""

from __future__ import annotations

from core.services.context import Context
from core.storage import audit


async def refuse(ctx: Context, *, user_id: int | None, chat_id: int | None, what: str) -> None:
    """Someone not configured used the bot: the refusal is audited."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await audit.append(
            uow, at=now, actor=f"tg:{user_id}", action="bot.refused",
            subject=f"chat:{chat_id}", detail={"what": what[:100]},
        )
        await uow.commit()
