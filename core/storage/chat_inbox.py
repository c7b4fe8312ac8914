"""Callbacks from a chat platform, kept before they are answered (migration 023)."""

from __future__ import annotations

import json
from datetime import datetime

from core.clock import iso
from core.storage.db import Reader, UnitOfWork


async def keep(uow: UnitOfWork, channel: str, key: str, fields: dict[str, str],
               at: datetime) -> bool:
    """Keep a callback; False when one with the same key was kept before (a retry)."""
    cur = await uow.execute(
        "INSERT OR IGNORE INTO chat_inbox (key, channel, fields, received_at)"
        " VALUES (?, ?, ?, ?)",
        (key, channel, json.dumps(fields, ensure_ascii=False), iso(at)))
    return cur.rowcount == 1


async def done(uow: UnitOfWork, channel: str, key: str, at: datetime) -> None:
    await uow.execute("UPDATE chat_inbox SET done_at = ? WHERE channel = ? AND key = ?"
                      " AND done_at IS NULL", (iso(at), channel, key))


async def waiting(r: Reader | UnitOfWork, channel: str) -> list[tuple[str, dict[str, str]]]:
    """Callbacks kept but not handled, oldest first."""
    rows = await r.fetchall(
        "SELECT key, fields FROM chat_inbox WHERE channel = ? AND done_at IS NULL"
        " ORDER BY received_at, key", (channel,))
    return [(str(x["key"]), dict(json.loads(x["fields"]))) for x in rows]


async def forget_done(uow: UnitOfWork, before: datetime) -> int:
    """Handled callbacks received before `before`: no retry of theirs can come any more."""
    cur = await uow.execute(
        "DELETE FROM chat_inbox WHERE done_at IS NOT NULL AND received_at < ?", (iso(before),))
    return cur.rowcount
