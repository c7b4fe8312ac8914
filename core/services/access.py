"""Who may see what in chat, and refusals of people the configuration does not know."""

from __future__ import annotations

from core.errors import PermissionDeniedError
from core.permissions import Can, Principal
from core.services.context import Context
from core.storage import audit
from core.storage import chat as repo
from core.visibility import Viewer


async def viewer_of(ctx: Context, item_id: int, principal: Principal) -> Viewer:
    """How `principal` sees an item in chat: registry staff see every item, others only
    items routed to them (DOMAIN §7)."""
    if principal.can(Can.REVIEW):
        return Viewer.STAFF
    async with ctx.db.reader() as r:
        if await repo.routed_to(r, item_id, principal.chat_id):
            return Viewer.LEADER
    raise PermissionDeniedError("此件未送您阅批", actor=principal.name)


async def refuse(ctx: Context, *, user_id: int | None, chat_id: int | None, what: str) -> None:
    """Someone not configured used the bot: the refusal is audited."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await audit.append(
            uow, at=now, actor=f"tg:{user_id}", action="bot.refused",
            subject=f"chat:{chat_id}", detail={"what": what[:100]},
        )
        await uow.commit()
