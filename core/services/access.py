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


async def refuse_address(ctx: Context, *, channel: str, address: str, what: str) -> None:
    """Someone the directory does not know used a chat app (a WeCom member not configured):
    the refusal is audited."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await audit.append(
            uow, at=now, actor=f"{channel}:{address[:80]}", action="bot.refused",
            subject=f"{channel}:{address[:80]}", detail={"what": what[:100]},
        )
        await uow.commit()


async def callback_refused(
    ctx: Context, *, channel: str, reason: str, detail: str, remote: str | None
) -> None:
    """A callback that failed its checks (forged signature, replay, another app): audited
    with where it came from."""
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        await audit.append(
            uow, at=now, actor=f"{channel}:{remote or '-'}", action="chat.callback_refused",
            subject=f"{channel}:callback",
            detail={"reason": reason[:40], "detail": detail[:200], "remote": remote},
        )
        await uow.commit()
