"""Callbacks from a chat platform, kept before they are answered (migrations 023, 024)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from core.clock import iso, parse_iso
from core.storage.db import Reader, Row, UnitOfWork

#: what is kept of a failure's text
ERROR_LIMIT = 500


@dataclass(frozen=True)
class Kept:
    """A kept callback: its key, its fields, its failed tries, the next try's time (None:
    at once), and, once given up, when and why."""

    key: str
    fields: dict[str, str]
    received_at: datetime
    attempts: int = 0
    retry_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None
    channel: str = ""


def _kept(row: Row) -> Kept:
    return Kept(str(row["key"]), dict(json.loads(row["fields"])), parse_iso(row["received_at"]),
                int(row["attempts"]),
                parse_iso(row["retry_at"]) if row["retry_at"] else None,
                parse_iso(row["failed_at"]) if row["failed_at"] else None,
                row["error"], str(row["channel"]))


async def keep(uow: UnitOfWork, channel: str, key: str, fields: dict[str, str],
               at: datetime) -> bool:
    """Keep a callback; False when one with the same key was kept before (a retry)."""
    cur = await uow.execute(
        "INSERT OR IGNORE INTO chat_inbox (key, channel, fields, received_at)"
        " VALUES (?, ?, ?, ?)",
        (key, channel, json.dumps(fields, ensure_ascii=False), iso(at)))
    return cur.rowcount == 1


async def get(r: Reader | UnitOfWork, channel: str, key: str) -> Kept | None:
    row = await r.fetchone("SELECT * FROM chat_inbox WHERE channel = ? AND key = ?",
                           (channel, key))
    return _kept(row) if row else None


async def done(uow: UnitOfWork, channel: str, key: str, at: datetime) -> None:
    await uow.execute("UPDATE chat_inbox SET done_at = ?, retry_at = NULL WHERE channel = ?"
                      " AND key = ? AND done_at IS NULL AND failed_at IS NULL",
                      (iso(at), channel, key))


async def retry_later(uow: UnitOfWork, channel: str, key: str, *, error: str,
                      retry_at: datetime) -> bool:
    """A try failed and another is due at `retry_at`; False when it was not waiting."""
    cur = await uow.execute(
        "UPDATE chat_inbox SET attempts = attempts + 1, retry_at = ?, error = ?"
        " WHERE channel = ? AND key = ? AND done_at IS NULL AND failed_at IS NULL",
        (iso(retry_at), error[:ERROR_LIMIT], channel, key))
    return cur.rowcount == 1


async def mark_failed(uow: UnitOfWork, channel: str, key: str, *, error: str,
                      at: datetime) -> bool:
    """Given up: kept with its reason, no longer waiting; False when it was not waiting."""
    cur = await uow.execute(
        "UPDATE chat_inbox SET attempts = attempts + 1, failed_at = ?, retry_at = NULL,"
        " error = ? WHERE channel = ? AND key = ? AND done_at IS NULL AND failed_at IS NULL",
        (iso(at), error[:ERROR_LIMIT], channel, key))
    return cur.rowcount == 1


async def waiting(r: Reader | UnitOfWork, channel: str) -> list[Kept]:
    """Callbacks kept, neither handled nor given up, oldest first."""
    rows = await r.fetchall(
        "SELECT * FROM chat_inbox WHERE channel = ? AND done_at IS NULL AND failed_at IS NULL"
        " ORDER BY received_at, key", (channel,))
    return [_kept(x) for x in rows]


async def failed(r: Reader | UnitOfWork, channel: str | None = None, *,
                 limit: int = 100) -> list[Kept]:
    """Callbacks given up, newest first (all channels unless `channel`)."""
    rows = await r.fetchall(
        "SELECT * FROM chat_inbox WHERE failed_at IS NOT NULL AND (? IS NULL OR channel = ?)"
        " ORDER BY failed_at DESC, key LIMIT ?", (channel, channel, limit))
    return [_kept(x) for x in rows]


async def forget_done(uow: UnitOfWork, before: datetime) -> int:
    """Handled callbacks received before `before`: no retry of theirs can come any more.
    Failed ones are kept for staff."""
    cur = await uow.execute(
        "DELETE FROM chat_inbox WHERE done_at IS NOT NULL AND received_at < ?", (iso(before),))
    return cur.rowcount
