"""The outbox: events written in the same transaction as the change that caused them.

Adapters drain it at least once: the bot takes `chat` events, the intake side takes
`mail` events. Payloads are JSON; for `chat` they hold the rendered message:
`{"text": str, "buttons": [[{"text": str, "data": str}]], "blob": sha256|None,
"filename": str|None, "urgent": bool}`; for `mail`: `{"to": str, "subject": str, "body": str}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import iso
from core.storage.db import Reader, UnitOfWork

CHAT = "chat"
MAIL = "mail"


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
        (channel, event, item_id, str(target), json.dumps(payload, ensure_ascii=False),
         iso(at), iso(due_at or at)),
    )


def _event(row: Any) -> Event:
    return Event(
        id=row["id"], channel=row["channel"], event=row["event"], item_id=row["item_id"],
        target=row["target"], payload=json.loads(row["payload"]), attempts=row["attempts"],
        created_at=row["created_at"], due_at=row["due_at"],
    )


async def pending(reader: Reader, channel: str, now: datetime, limit: int = 100) -> list[Event]:
    """Events of `channel` due by `now` and not yet done, oldest first."""
    rows = await reader.fetchall(
        "SELECT * FROM outbox WHERE channel = ? AND done_at IS NULL AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?",
        (channel, iso(now), limit),
    )
    return [_event(r) for r in rows]


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
