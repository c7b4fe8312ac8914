"""Keyword subscriptions: a chat also gets unclassified items whose title or sender holds a word."""

from __future__ import annotations

from core.errors import InvalidInputError
from core.limits import MAX_KEYWORD, required_text
from core.permissions import chat_name
from core.services.context import Context
from core.storage import audit
from core.storage import chat as repo


def _keyword(text: str) -> str:
    keyword = text.strip()
    if not keyword:
        raise InvalidInputError("请给出关键词，例如：/subscribe 防汛", field="keyword")
    return required_text(keyword, "关键词", field="keyword", limit=MAX_KEYWORD)


async def subscribe(ctx: Context, *, chat_id: int, keyword: str) -> bool:
    """Also receive unclassified items whose title or sender holds `keyword`."""
    word = _keyword(keyword)
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        added = await repo.add_subscription(uow, chat_id, word, now)
        if added:
            await audit.append(uow, at=now, actor=chat_name(ctx.settings, chat_id),
                               action="subscribe", subject=f"chat:{chat_id}",
                               detail={"keyword": word})
        await uow.commit()
    return added


async def unsubscribe(ctx: Context, *, chat_id: int, keyword: str | None = None) -> int:
    """Drop one keyword, or all of a chat's keywords when none is given."""
    word = _keyword(keyword) if keyword is not None and keyword.strip() else None
    now = ctx.clock()
    async with ctx.db.unit_of_work() as uow:
        removed = await repo.remove_subscriptions(uow, chat_id, word)
        if removed:
            await audit.append(uow, at=now, actor=chat_name(ctx.settings, chat_id),
                               action="unsubscribe", subject=f"chat:{chat_id}",
                               detail={"keyword": word, "removed": removed})
        await uow.commit()
    return removed


async def subscriptions(ctx: Context, chat_id: int) -> list[str]:
    async with ctx.db.reader() as r:
        return [str(x["keyword"]) for x in await repo.subscriptions(r, chat_id)]
