"""Staff look-ups beside the registry: the review queue, search, an item's status in chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import parse_iso
from core.errors import InvalidInputError
from core.services import handling, registry
from core.services.context import Context
from core.services.handling import HandlingView
from core.storage import chat as repo
from core.storage import items as items_repo
from core.visibility import Facts, Policy, Viewer, shown


@dataclass(frozen=True)
class ReviewEntry:
    item_id: int
    received_at: datetime
    channel: str
    sender: str | None
    doc_number: str | None
    title: str | None
    secrecy: str | None
    reason: str | None


async def review_queue(ctx: Context, limit: int = 20) -> list[ReviewEntry]:
    """Items waiting for staff to classify them (待分类), oldest first."""
    async with ctx.db.reader() as r:
        rows = await items_repo.review_items(r, limit)
    return [
        ReviewEntry(x["id"], parse_iso(x["received_at"]), x["channel"], x["sender"],
                    x["doc_number"], x["title"], x["secrecy"], x["reason"])
        for x in rows
    ]


@dataclass(frozen=True)
class Found:
    item_id: int
    number: str | None
    kind: str | None
    outcome: str
    sender: str | None
    title: str | None
    received_at: datetime


async def find(ctx: Context, keyword: str, limit: int = 10) -> list[Found]:
    """Items whose title or text holds `keyword`. Classified, sealed and quarantined items
    are left out: a hit would tell the chat what their text says (§2, §7)."""
    word = keyword.strip()
    if not word:
        raise InvalidInputError("请给出关键词，例如：/find 防汛", field="keyword")
    policy = Policy.of(ctx.settings)
    async with ctx.db.reader() as r:
        rows = await items_repo.search(r, word, limit * 3)
    found = [
        Found(x["id"], x["number"], x["kind"], x["outcome"], x["sender"], x["title"],
              parse_iso(x["received_at"]))
        for x in rows
        if shown(Facts(x["outcome"], x["secrecy"]), Viewer.STAFF, policy).quotes
    ]
    return found[:limit]


@dataclass(frozen=True)
class ItemStatus:
    """An item as the registry follows it: entries, pushes, 已阅, 传阅, 批示, 特急."""

    item: dict[str, Any]
    deliveries: list[repo.Delivery]
    reads: list[dict[str, Any]]
    circulation: list[dict[str, Any]]
    instructions: list[dict[str, Any]]
    urgent: dict[str, Any] | None
    #: a 办件's step in the handling flow and who holds it now
    handling: HandlingView | None = None


async def item_status(ctx: Context, ref: str) -> ItemStatus:
    shown = await registry.show(ctx, ref)
    item_id = int(shown["id"])
    async with ctx.db.reader() as r:
        deliveries = await repo.deliveries_of(r, item_id)
        reads = [dict(x) for x in await repo.reads_of(r, item_id)]
        circulation = [dict(x) for x in await repo.circulation_of(r, item_id)]
        instructions = [dict(x) for x in await repo.instructions_of(r, item_id)]
        watch = await repo.urgent_of(r, item_id)
    return ItemStatus(shown, deliveries, reads, circulation, instructions,
                      dict(watch) if watch else None, await handling.status(ctx, ref))
