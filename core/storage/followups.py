"""SQL of 催办: the follow-up of each registered 办件 (item_followups) and the items it
watches. Dates are ISO 'YYYY-MM-DD' text, times ISO UTC text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork


async def items_to_follow(conn: Conn) -> list[Row]:
    """办件 without a follow-up, or whose deadline/urgency changed since it was computed."""
    return await conn.fetchall(
        "SELECT i.id FROM items i"
        " JOIN register_entries e ON e.item_id = i.id AND e.kind = '办件' AND e.status = 'active'"
        " LEFT JOIN item_followups f ON f.item_id = i.id"
        " WHERE i.outcome = 'register' AND i.kind = '办件'"
        "   AND (f.item_id IS NULL OR f.status = 'cancelled' OR (f.status = 'open'"
        "        AND (f.deadline_src IS DISTINCT FROM i.deadline"
        "             OR f.urgency_src IS DISTINCT FROM i.urgency)))"
    )


async def followups_orphaned(conn: Conn) -> list[Row]:
    """Open follow-ups whose item is no longer an active 办件 (corrected to another kind)."""
    return await conn.fetchall(
        "SELECT f.item_id FROM item_followups f WHERE f.status = 'open' AND NOT EXISTS ("
        " SELECT 1 FROM items i JOIN register_entries e ON e.item_id = i.id"
        " WHERE i.id = f.item_id AND i.kind = '办件' AND i.outcome = 'register'"
        "   AND e.kind = '办件' AND e.status = 'active')"
    )


async def item_for_followup(conn: Conn, item_id: int) -> Row | None:
    """An item with its active 办件 number and the day that entry was registered."""
    return await conn.fetchone(
        "SELECT i.*, e.number, e.registered_at FROM items i"
        " LEFT JOIN register_entries e ON e.item_id = i.id AND e.kind = '办件'"
        "   AND e.status = 'active'"
        " WHERE i.id = ?",
        (item_id,),
    )


async def get_followup(conn: Conn, item_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM item_followups WHERE item_id = ?", (item_id,))


@dataclass(frozen=True)
class Followup:
    item_id: int
    registered_on: date
    due_on: date
    provisional: bool
    source: str
    deadline_src: str | None
    urgency_src: str | None


async def upsert_followup(uow: UnitOfWork, f: Followup, at: datetime) -> None:
    await uow.execute(
        "INSERT INTO item_followups (item_id, registered_on, due_on, provisional, source,"
        " deadline_src, urgency_src, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (item_id) DO UPDATE SET registered_on = excluded.registered_on,"
        " due_on = excluded.due_on, provisional = excluded.provisional,"
        " source = excluded.source, deadline_src = excluded.deadline_src,"
        " urgency_src = excluded.urgency_src, status = 'open', done_on = NULL, done_by = NULL,"
        " updated_at = excluded.updated_at",
        (f.item_id, f.registered_on.isoformat(), f.due_on.isoformat(), int(f.provisional),
         f.source, f.deadline_src, f.urgency_src, iso(at), iso(at)),
    )


async def close_followup(
    uow: UnitOfWork, item_id: int, *, status: str, on: date | None, by: str, at: datetime
) -> None:
    await uow.execute(
        "UPDATE item_followups SET status = ?, done_on = ?, done_by = ?, updated_at = ?"
        " WHERE item_id = ?",
        (status, on.isoformat() if on else None, by, iso(at), item_id),
    )


async def provisional_followups(conn: Conn) -> list[Row]:
    """Open follow-ups whose due day was only provisional."""
    return await conn.fetchall(
        "SELECT item_id, due_on FROM item_followups WHERE status = 'open' AND provisional = 1"
    )


async def open_followups(conn: Conn) -> list[Row]:
    return await conn.fetchall(
        "SELECT f.*, i.title, i.sender, i.urgency, i.kind, i.outcome, i.secrecy, e.number"
        " FROM item_followups f"
        " JOIN items i ON i.id = f.item_id"
        " LEFT JOIN register_entries e ON e.item_id = i.id AND e.kind = '办件'"
        "   AND e.status = 'active'"
        " WHERE f.status = 'open' ORDER BY f.due_on, f.item_id"
    )


async def due_of(conn: Conn, item_id: int) -> str | None:
    """The due day of an item's open follow-up."""
    row = await conn.fetchone(
        "SELECT due_on FROM item_followups WHERE item_id = ? AND status = 'open'", (item_id,)
    )
    return str(row["due_on"]) if row else None
