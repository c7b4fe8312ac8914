"""The outbox: events written in the same transaction as the change that caused them.

Adapters drain it at least once: the bot takes `chat` events, the intake side takes
`mail` events. Payloads are JSON; for `chat` they hold the rendered message:
`{"text": str, "buttons": [[{"text": str, "data": str}]], "blob": sha256|None,
"filename": str|None, "urgent": bool}`, or for a `push` the item to render
(`{"item_id", "purpose", "role", "urgent", "escalation"}`); for `mail`:
`{"to": str, "subject": str, "body": str}`.

An event is claimed (in flight) before it is sent and marked done after; one found
claimed again was possibly delivered already.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import iso
from core.storage import json_text
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork

CHAT = "chat"
MAIL = "mail"
#: chat event of a push the bot renders itself from the item (payload: item_id, purpose…)
PUSH = "push"
#: chat event the bot expands into pushes with core.routing (payload: item_id)
ROUTE = "route"


#: `json.dumps(payload, ensure_ascii=False)`, the encoder built once (json.dumps builds
#: one per call when given an option)
_PAYLOAD_JSON = json_text.encoder(ensure_ascii=False)


@dataclass(frozen=True)
class Event:
    id: int
    channel: str
    event: str
    item_id: int | None
    target: str
    payload: dict[str, Any]
    attempts: int
    created_at: str
    due_at: str


async def enqueue(
    uow: UnitOfWork,
    *,
    channel: str,
    event: str,
    target: str | int,
    payload: dict[str, Any],
    at: datetime,
    item_id: int | None = None,
    due_at: datetime | None = None,
) -> int:
    return await uow.insert(
        "INSERT INTO outbox (channel, event, item_id, target, payload, created_at, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (channel, event, item_id, str(target), _PAYLOAD_JSON(payload),
         iso(at), iso(due_at or at)),
    )


def _event(row: Row) -> Event:
    return Event(
        id=row["id"], channel=row["channel"], event=row["event"], item_id=row["item_id"],
        target=row["target"], payload=json.loads(row["payload"]), attempts=row["attempts"],
        created_at=row["created_at"], due_at=row["due_at"],
    )


async def pending(reader: Conn, channel: str, now: datetime, limit: int = 100) -> list[Event]:
    """Events of `channel` due by `now` and not yet done, oldest first."""
    rows = await reader.fetchall(
        "SELECT * FROM outbox WHERE channel = ? AND done_at IS NULL AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?",
        (channel, iso(now), limit),
    )
    return [_event(r) for r in rows]


async def get_event(conn: Conn, event_id: int) -> Event | None:
    row = await conn.fetchone("SELECT * FROM outbox WHERE id = ?", (event_id,))
    return _event(row) if row else None


async def is_done(conn: Conn, event_id: int) -> bool:
    row = await conn.fetchone("SELECT done_at FROM outbox WHERE id = ?", (event_id,))
    return row is None or row["done_at"] is not None


async def mark_done(uow: UnitOfWork, event_id: int, at: datetime) -> None:
    await uow.execute("UPDATE outbox SET done_at = ? WHERE id = ?", (iso(at), event_id))


async def mark_failed(
    uow: UnitOfWork, event_id: int, *, error: str, retry_at: datetime
) -> None:
    """Record a failed attempt and when to try again."""
    await uow.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, due_at = ? WHERE id = ?",
        (error[:500], iso(retry_at), event_id),
    )


# ------------------------------------------------------------------ chat side
async def route_events(conn: Conn, now: datetime, limit: int) -> list[Event]:
    """Route events due by `now` and not yet expanded, oldest first."""
    rows = await conn.fetchall(
        "SELECT * FROM outbox WHERE channel = ? AND event = ? AND done_at IS NULL"
        " AND due_at <= ? ORDER BY due_at, id LIMIT ?",
        (CHAT, ROUTE, iso(now), limit),
    )
    return [_event(r) for r in rows]


async def sendable_events(
    conn: Conn, now: datetime, per_chat: int, limit: int, *, wecom: bool = False
) -> list[Event]:
    """Due chat events other than routes, at most `per_chat` per target; in each chat
    urgent ones (特急/特提) first, then oldest first. `wecom`: the events to WeCom members
    (targets ``wecom:…``), else the Telegram ones.

    Taking a few per chat keeps one busy chat (paced at 1 message/s) from hiding the
    others' events behind a LIMIT.
    """
    rows = await conn.fetchall(
        "SELECT * FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY target ORDER BY"
        " COALESCE(json_extract(payload, '$.urgent'), 0) DESC, due_at, id) AS rn"
        " FROM outbox o WHERE channel = ? AND event <> ? AND done_at IS NULL AND due_at <= ?"
        " AND (target LIKE 'wecom:%') = ?) AS q WHERE rn <= ? ORDER BY rn, due_at, id LIMIT ?",
        (CHAT, ROUTE, iso(now), int(wecom), per_chat, limit),
    )
    return [_event(r) for r in rows]


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


async def claimed_count(conn: Conn, channel: str) -> int:
    row = await conn.fetchone(
        "SELECT COUNT(*) AS n FROM outbox WHERE channel = ? AND claimed_at IS NOT NULL"
        " AND done_at IS NULL",
        (channel,),
    )
    return int(row["n"]) if row else 0


async def enqueue_push(
    uow: UnitOfWork, *, item_id: int, target: str, payload: dict[str, Any], at: datetime
) -> bool:
    """Queue a push of the item to `target` unless one of the same purpose
    (`payload["purpose"]`) was queued before — one statement, the unique index
    outbox_push_once deciding; True when queued."""
    cur = await uow.execute(
        "INSERT INTO outbox (channel, event, item_id, target, payload, created_at, due_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (item_id, target, json_extract(payload, '$.purpose'))"
        f" WHERE channel = '{CHAT}' AND event = '{PUSH}' DO NOTHING",
        (CHAT, PUSH, item_id, target, _PAYLOAD_JSON(payload), iso(at),
         iso(at)),
    )
    return cur.rowcount == 1


async def push_targets(conn: Conn, item_id: int, role: str | None = None) -> list[int]:
    """Chats a push of the item was queued for (sent or not), optionally of one role."""
    rows = await conn.fetchall(
        "SELECT target FROM outbox WHERE channel = ? AND event = ? AND item_id = ?"
        " AND (?4 IS NULL OR json_extract(payload, '$.role') = ?4) ORDER BY id",
        (CHAT, PUSH, item_id, role),
    )
    ids = [int(r["target"]) for r in rows if str(r["target"]).lstrip("-").isdecimal()]
    return list(dict.fromkeys(ids))
