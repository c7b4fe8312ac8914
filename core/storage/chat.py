"""SQL of the chat bot: delivery claims and records, 批示, 已阅, 传阅, subscriptions, 特急 watch.

Services call these inside a unit of work (writes) or a reader (look-ups).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork
from core.storage.outbox import CHAT, Event

Conn = Reader | UnitOfWork

#: outbox event of a push the bot renders itself from the item (payload: item_id, purpose…)
PUSH = "push"
#: outbox event the bot expands into pushes with core.routing (payload: item_id)
ROUTE = "route"


def _event(row: Row) -> Event:
    return Event(
        id=row["id"], channel=row["channel"], event=row["event"], item_id=row["item_id"],
        target=row["target"], payload=json.loads(row["payload"]), attempts=row["attempts"],
        created_at=row["created_at"], due_at=row["due_at"],
    )


# ------------------------------------------------------------------ outbox, chat side
async def route_events(conn: Conn, now: datetime, limit: int) -> list[Event]:
    """Route events due by `now` and not yet expanded, oldest first."""
    rows = await conn.fetchall(
        "SELECT * FROM outbox WHERE channel = ? AND event = ? AND done_at IS NULL"
        " AND due_at <= ? ORDER BY due_at, id LIMIT ?",
        (CHAT, ROUTE, iso(now), limit),
    )
    return [_event(r) for r in rows]


async def sendable_events(conn: Conn, now: datetime, per_chat: int, limit: int) -> list[Event]:
    """Due chat events other than routes, at most `per_chat` per target; in each chat
    urgent ones (特急/特提) first, then oldest first.

    Taking a few per chat keeps one busy chat (paced at 1 message/s) from hiding the
    others' events behind a LIMIT.
    """
    rows = await conn.fetchall(
        "SELECT * FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY target ORDER BY"
        " COALESCE(json_extract(payload, '$.urgent'), 0) DESC, due_at, id) AS rn"
        " FROM outbox o WHERE channel = ? AND event <> ? AND done_at IS NULL AND due_at <= ?)"
        " AS q WHERE rn <= ? ORDER BY rn, due_at, id LIMIT ?",
        (CHAT, ROUTE, iso(now), per_chat, limit),
    )
    return [_event(r) for r in rows]


async def get_event(conn: Conn, event_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM outbox WHERE id = ?", (event_id,))


async def claim(uow: UnitOfWork, event_id: int, at: datetime) -> str | None:
    """Mark an event in flight; returns the earlier claim time when it was claimed before
    (a send that may have arrived), '' when it is claimed now for the first time, None when
    it is done already."""
    row = await uow.fetchone(
        "SELECT claimed_at, done_at FROM outbox WHERE id = ?", (event_id,)
    )
    if row is None or row["done_at"] is not None:
        return None
    await uow.execute("UPDATE outbox SET claimed_at = ? WHERE id = ?", (iso(at), event_id))
    return str(row["claimed_at"] or "")


async def release(uow: UnitOfWork, event_id: int) -> None:
    """The send certainly did not arrive: the event is no longer in flight."""
    await uow.execute("UPDATE outbox SET claimed_at = NULL WHERE id = ?", (event_id,))


async def claimed_count(conn: Conn) -> int:
    row = await conn.fetchone(
        "SELECT COUNT(*) AS n FROM outbox WHERE channel = ? AND claimed_at IS NOT NULL"
        " AND done_at IS NULL",
        (CHAT,),
    )
    return int(row["n"]) if row else 0


async def push_queued(uow: UnitOfWork, item_id: int, chat_id: int, purpose: str) -> bool:
    row = await uow.fetchone(
        "SELECT 1 FROM outbox WHERE channel = ? AND event = ? AND item_id = ? AND target = ?"
        " AND json_extract(payload, '$.purpose') = ? LIMIT 1",
        (CHAT, PUSH, item_id, str(chat_id), purpose),
    )
    return row is not None


async def push_targets(conn: Conn, item_id: int, role: str | None = None) -> list[int]:
    """Chats a push of the item was queued for (sent or not), optionally of one role."""
    rows = await conn.fetchall(
        "SELECT target FROM outbox WHERE channel = ? AND event = ? AND item_id = ?"
        " AND (?4 IS NULL OR json_extract(payload, '$.role') = ?4) ORDER BY id",
        (CHAT, PUSH, item_id, role),
    )
    ids = [int(r["target"]) for r in rows if str(r["target"]).lstrip("-").isdecimal()]
    return list(dict.fromkeys(ids))


# ------------------------------------------------------------------ deliveries
@dataclass(frozen=True)
class Delivery:
    item_id: int | None
    chat_id: int
    purpose: str
    outbox_id: int | None
    message_id: int
    sent_at: str
    resend: bool


def _delivery(row: Row) -> Delivery:
    return Delivery(row["item_id"], row["chat_id"], row["purpose"], row["outbox_id"],
                    row["message_id"], row["sent_at"], bool(row["resend"]))


async def record_delivery(
    uow: UnitOfWork, *, item_id: int | None, chat_id: int, purpose: str,
    outbox_id: int | None, message_id: int, at: datetime, resend: bool,
) -> bool:
    """Remember a sent message; False when (item, chat, purpose) was recorded before."""
    cur = await uow.execute(
        "INSERT INTO deliveries (item_id, chat_id, purpose, outbox_id, message_id, sent_at,"
        " resend) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (item_id, chat_id, purpose, outbox_id, message_id, iso(at), int(resend)),
    )
    return bool(cur.rowcount)


async def delivered(conn: Conn, item_id: int, chat_id: int, purpose: str) -> Delivery | None:
    row = await conn.fetchone(
        "SELECT * FROM deliveries WHERE item_id = ? AND chat_id = ? AND purpose = ?",
        (item_id, chat_id, purpose),
    )
    return _delivery(row) if row else None


async def delivery_of_message(conn: Conn, chat_id: int, message_id: int) -> Delivery | None:
    row = await conn.fetchone(
        "SELECT * FROM deliveries WHERE chat_id = ? AND message_id = ? ORDER BY id DESC LIMIT 1",
        (chat_id, message_id),
    )
    return _delivery(row) if row else None


async def deliveries_of(conn: Conn, item_id: int) -> list[Delivery]:
    rows = await conn.fetchall(
        "SELECT * FROM deliveries WHERE item_id = ? ORDER BY id", (item_id,)
    )
    return [_delivery(r) for r in rows]


async def routed_to(conn: Conn, item_id: int, chat_id: int) -> bool:
    """The item was pushed (or queued as a push) to this chat."""
    row = await conn.fetchone(
        "SELECT 1 FROM deliveries WHERE item_id = ? AND chat_id = ? AND purpose NOT LIKE 'prompt:%'"
        " UNION ALL SELECT 1 FROM outbox WHERE channel = ? AND event = ? AND item_id = ?"
        " AND target = ? LIMIT 1",
        (item_id, chat_id, CHAT, PUSH, item_id, str(chat_id)),
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


# ------------------------------------------------------------------ items
async def review_items(conn: Conn, limit: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM items WHERE outcome = 'review' ORDER BY received_at, id LIMIT ?",
        (limit,),
    )


async def first_attachment(conn: Conn, item_id: int) -> Row | None:
    """The document to attach to a push: the first readable part that is not a manifest."""
    return await conn.fetchone(
        "SELECT * FROM attachments WHERE item_id = ? AND status IN ('ok', 'image')"
        " AND COALESCE(filename, '') NOT LIKE '%.json' ORDER BY idx LIMIT 1",
        (item_id,),
    )


async def active_number(conn: Conn, item_id: int) -> str | None:
    row = await conn.fetchone(
        "SELECT number FROM register_entries WHERE item_id = ? AND status = 'active'"
        " ORDER BY id DESC LIMIT 1",
        (item_id,),
    )
    return str(row["number"]) if row else None


async def followup_due(conn: Conn, item_id: int) -> str | None:
    row = await conn.fetchone(
        "SELECT due_on FROM item_followups WHERE item_id = ? AND status = 'open'", (item_id,)
    )
    return str(row["due_on"]) if row else None


def _fts_phrase(keyword: str) -> str:
    """An FTS5 phrase query for the keyword, quotes doubled."""
    return '"' + keyword.replace('"', '""') + '"'


#: the trigram tokenizer matches only terms of 3 characters or more
TRIGRAM_MIN = 3


async def search(conn: Conn, keyword: str, limit: int) -> list[Row]:
    """Items whose title or document text holds `keyword`, newest first.

    FTS5 trigram for keywords of 3+ characters; shorter ones (common in Chinese: 防汛,
    财政) fall back to LIKE over the same table.
    """
    cols = ("i.id, i.received_at, i.kind, i.outcome, i.sender, i.doc_number, i.title,"
            " i.secrecy, i.urgency, e.number")
    join = (" FROM items i LEFT JOIN register_entries e ON e.item_id = i.id"
            " AND e.status = 'active'")
    if len(keyword) >= TRIGRAM_MIN:
        return await conn.fetchall(
            f"SELECT {cols}{join} WHERE i.id IN (SELECT rowid FROM item_text"
            " WHERE item_text MATCH ?) ORDER BY i.received_at DESC, i.id DESC LIMIT ?",
            (_fts_phrase(keyword), limit),
        )
    pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return await conn.fetchall(
        f"SELECT {cols}{join} WHERE i.id IN (SELECT rowid FROM item_text"
        " WHERE title LIKE ?1 ESCAPE '\\' OR body LIKE ?1 ESCAPE '\\')"
        " ORDER BY i.received_at DESC, i.id DESC LIMIT ?2",
        (pattern, limit),
    )
