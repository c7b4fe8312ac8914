"""SQL of what happens to an item in chat: deliveries, 批示, 已阅, 传阅, subscriptions, 特急 watch.

Services call these inside a unit of work (writes) or a reader (look-ups).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork
from core.storage.outbox import CHAT, PUSH

Conn = Reader | UnitOfWork

# ------------------------------------------------------------------ deliveries
@dataclass(frozen=True)
class Delivery:
    """A sent message: (channel, address) it went to and the platform's `message_ref`."""

    item_id: int | None
    channel: str
    address: str
    purpose: str
    outbox_id: int | None
    message_ref: str
    sent_at: str
    resend: bool


def _delivery(row: Row) -> Delivery:
    return Delivery(row["item_id"], row["channel"], row["address"], row["purpose"],
                    row["outbox_id"], row["message_ref"], row["sent_at"], bool(row["resend"]))


async def record_delivery(
    uow: UnitOfWork, *, item_id: int | None, channel: str, address: str, purpose: str,
    outbox_id: int | None, message_ref: str, at: datetime, resend: bool,
) -> bool:
    """Remember a sent message; False when (item, channel, address, purpose) was recorded
    before."""
    cur = await uow.execute(
        "INSERT INTO deliveries (item_id, channel, address, purpose, outbox_id, message_ref,"
        " sent_at, resend) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (item_id, channel, address, purpose, outbox_id, message_ref, iso(at), int(resend)),
    )
    return bool(cur.rowcount)


async def delivered(
    conn: Conn, item_id: int, channel: str, address: str, purpose: str
) -> Delivery | None:
    row = await conn.fetchone(
        "SELECT * FROM deliveries WHERE item_id = ? AND channel = ? AND address = ?"
        " AND purpose = ?",
        (item_id, channel, address, purpose),
    )
    return _delivery(row) if row else None


async def delivery_of_message(
    conn: Conn, channel: str, address: str, message_ref: str
) -> Delivery | None:
    row = await conn.fetchone(
        "SELECT * FROM deliveries WHERE channel = ? AND address = ? AND message_ref = ?"
        " ORDER BY id DESC LIMIT 1",
        (channel, address, message_ref),
    )
    return _delivery(row) if row else None


async def items_of_message(conn: Conn, channel: str, address: str, message_ref: str) -> list[int]:
    """Every item one sent message was about (a batch lists several)."""
    rows = await conn.fetchall(
        "SELECT DISTINCT item_id FROM deliveries WHERE channel = ? AND address = ?"
        " AND message_ref = ? AND item_id IS NOT NULL ORDER BY item_id",
        (channel, address, message_ref),
    )
    return [int(r["item_id"]) for r in rows]


async def deliveries_to(
    conn: Conn, item_id: int, channel: str, address: str
) -> list[Delivery]:
    """What of the item went to one address (its cards to update once it is read)."""
    rows = await conn.fetchall(
        "SELECT * FROM deliveries WHERE item_id = ? AND channel = ? AND address = ?"
        " ORDER BY id",
        (item_id, channel, address),
    )
    return [_delivery(r) for r in rows]


async def open_prompt(
    conn: Conn, channel: str, address: str, *, chat_id: int, since: datetime
) -> Delivery | None:
    """The latest 批示 prompt sent to an address since `since` that no 批示 of the person
    `chat_id` on its item has answered yet."""
    row = await conn.fetchone(
        "SELECT d.* FROM deliveries d WHERE d.channel = ? AND d.address = ?"
        " AND d.purpose LIKE 'prompt:%' AND d.sent_at >= ? AND NOT EXISTS ("
        " SELECT 1 FROM instructions i WHERE i.item_id = d.item_id AND i.chat_id = ?"
        " AND i.at >= d.sent_at) ORDER BY d.id DESC LIMIT 1",
        (channel, address, iso(since), chat_id),
    )
    return _delivery(row) if row else None


async def deliveries_of(conn: Conn, item_id: int) -> list[Delivery]:
    rows = await conn.fetchall(
        "SELECT * FROM deliveries WHERE item_id = ? ORDER BY id", (item_id,)
    )
    return [_delivery(r) for r in rows]


async def routed_to(conn: Conn, item_id: int, chat_id: int) -> bool:
    """The item was pushed (or queued as a push) to this person (their key is their
    Telegram chat, which every push to them is queued for)."""
    row = await conn.fetchone(
        "SELECT 1 FROM deliveries WHERE item_id = ? AND channel = 'telegram' AND address = ?"
        " AND purpose NOT LIKE 'prompt:%'"
        " UNION ALL SELECT 1 FROM outbox WHERE channel = ? AND event = ? AND item_id = ?"
        " AND target = ? LIMIT 1",
        (item_id, str(chat_id), CHAT, PUSH, item_id, str(chat_id)),
    )
    return row is not None


# ------------------------------------------------------------------ 批示
async def instruction_from(uow: UnitOfWork, chat_id: int, message_id: int) -> Row | None:
    return await uow.fetchone(
        "SELECT * FROM instructions WHERE source_chat = ? AND source_message = ?",
        (chat_id, message_id),
    )


async def add_instruction(
    uow: UnitOfWork, *, item_id: int, leader: str, chat_id: int, text: str, at: datetime,
    number: str | None, converted_from: str | None, source_message: int | None,
) -> int:
    """Append a 批示 (next seq of the item); returns its seq."""
    row = await uow.fetchone(
        "SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM instructions WHERE item_id = ?", (item_id,)
    )
    seq = int(row["seq"]) if row else 1
    await uow.execute(
        "INSERT INTO instructions (item_id, seq, leader, chat_id, text, at, number,"
        " converted_from, source_chat, source_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (item_id, seq, leader, chat_id, text, iso(at), number, converted_from,
         chat_id if source_message is not None else None, source_message),
    )
    return seq


async def instructions_of(conn: Conn, item_id: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM instructions WHERE item_id = ? ORDER BY seq", (item_id,)
    )


# ------------------------------------------------------------------ 已阅
async def add_read(
    uow: UnitOfWork, *, item_id: int, chat_id: int, reader: str, at: datetime, how: str
) -> bool:
    """Record 已阅 once per (item, chat); False when it was recorded before."""
    cur = await uow.execute(
        "INSERT INTO reads (item_id, chat_id, reader, at, how) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (item_id, chat_id, reader, iso(at), how),
    )
    return bool(cur.rowcount)


async def reads_of(conn: Conn, item_id: int) -> list[Row]:
    return await conn.fetchall("SELECT * FROM reads WHERE item_id = ? ORDER BY at", (item_id,))


# ------------------------------------------------------------------ 传阅
async def start_circulation(
    uow: UnitOfWork, item_id: int, leaders: Sequence[tuple[str, int]], at: datetime
) -> None:
    for position, (name, chat_id) in enumerate(leaders, start=1):
        await uow.execute(
            "INSERT INTO circulation (item_id, position, leader, chat_id, status, sent_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (item_id, position, name, chat_id, "current" if position == 1 else "waiting",
             iso(at) if position == 1 else None),
        )


async def circulation_of(conn: Conn, item_id: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM circulation WHERE item_id = ? ORDER BY position", (item_id,)
    )


async def finish_turn(uow: UnitOfWork, item_id: int, position: int, status: str,
                      at: datetime) -> None:
    await uow.execute(
        "UPDATE circulation SET status = ?, done_at = ? WHERE item_id = ? AND position = ?",
        (status, iso(at), item_id, position),
    )


async def begin_turn(uow: UnitOfWork, item_id: int, position: int, at: datetime) -> None:
    await uow.execute(
        "UPDATE circulation SET status = 'current', sent_at = ? WHERE item_id = ?"
        " AND position = ?",
        (iso(at), item_id, position),
    )


# ------------------------------------------------------------------ subscriptions
async def add_subscription(uow: UnitOfWork, chat_id: int, keyword: str, at: datetime) -> bool:
    cur = await uow.execute(
        "INSERT INTO subscriptions (chat_id, keyword, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (chat_id, keyword, iso(at)),
    )
    return bool(cur.rowcount)


async def remove_subscriptions(uow: UnitOfWork, chat_id: int, keyword: str | None) -> int:
    if keyword is None:
        cur = await uow.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
    else:
        cur = await uow.execute(
            "DELETE FROM subscriptions WHERE chat_id = ? AND keyword = ?", (chat_id, keyword)
        )
    return int(cur.rowcount)


async def subscriptions(conn: Conn, chat_id: int | None = None) -> list[Row]:
    if chat_id is None:
        return await conn.fetchall("SELECT * FROM subscriptions ORDER BY id")
    return await conn.fetchall(
        "SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", (chat_id,)
    )


# ------------------------------------------------------------------ 特急 watch
async def watch_urgent(uow: UnitOfWork, item_id: int, at: datetime, next_at: datetime) -> None:
    await uow.execute(
        "INSERT INTO urgent_watch (item_id, started_at, next_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (item_id, iso(at), iso(next_at)),
    )


async def urgent_of(conn: Conn, item_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM urgent_watch WHERE item_id = ?", (item_id,))


async def acknowledge_urgent(
    uow: UnitOfWork, item_id: int, *, by: str, chat_id: int, at: datetime
) -> bool:
    """First 已阅 on a watched urgent item; False when none is open."""
    cur = await uow.execute(
        "UPDATE urgent_watch SET acked_by = ?, acked_chat = ?, acked_at = ?"
        " WHERE item_id = ? AND acked_at IS NULL",
        (by, chat_id, iso(at), item_id),
    )
    return bool(cur.rowcount)


async def urgent_due(conn: Conn, now: datetime) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM urgent_watch WHERE acked_at IS NULL AND closed_at IS NULL"
        " AND next_at <= ? ORDER BY next_at",
        (iso(now),),
    )


async def step_urgent(
    uow: UnitOfWork, item_id: int, *, level: int, next_at: datetime, closed: datetime | None
) -> bool:
    """Move an unacknowledged watch to `level`; False when someone acknowledged meanwhile."""
    cur = await uow.execute(
        "UPDATE urgent_watch SET level = ?, next_at = ?, closed_at = ?"
        " WHERE item_id = ? AND acked_at IS NULL AND closed_at IS NULL AND level = ?",
        (level, iso(next_at), iso(closed) if closed else None, item_id, level - 1),
    )
    return bool(cur.rowcount)
