"""SQL for items, register entries and counters. Services call these inside a unit of work."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.clock import iso
from core.errors import StorageError
from core.registers import WIDTH_LIMIT, format_number
from core.storage.db import Reader, Row, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewItem:
    received_at: datetime
    year: int
    month: int
    channel: str
    outcome: str
    created_by: str
    kind: str | None = None
    reason: str | None = None
    sender: str | None = None
    doc_number: str | None = None
    doc_type: str | None = None
    secrecy: str | None = None
    urgency: str | None = None
    title: str | None = None
    envelope_no: str | None = None
    issue_no: str | None = None
    rule: str | None = None
    evidence: str | None = None
    message_id: str | None = None
    content_sha256: str | None = None
    raw_blob: str | None = None
    from_address: str | None = None
    subject: str | None = None
    fax_remote_id: str | None = None
    deadline: str | None = None
    flags: str = ""
    findings: list[dict[str, str]] = field(default_factory=list)
    text: str = ""


_ITEM_COLUMNS = (
    "received_at", "year", "month", "channel", "outcome", "kind", "reason", "sender",
    "doc_number", "doc_type", "secrecy", "urgency", "title", "envelope_no", "issue_no", "rule",
    "evidence", "message_id", "content_sha256", "raw_blob", "from_address", "subject",
    "fax_remote_id", "deadline", "flags", "findings", "created_by",
)


async def insert_item(uow: UnitOfWork, item: NewItem) -> int:
    values: dict[str, Any] = {c: getattr(item, c) for c in _ITEM_COLUMNS if c != "findings"}
    values["received_at"] = iso(item.received_at)
    values["findings"] = json.dumps(item.findings, ensure_ascii=False)
    cols = ", ".join(_ITEM_COLUMNS)
    marks = ", ".join("?" for _ in _ITEM_COLUMNS)
    item_id = await uow.insert(
        f"INSERT INTO items ({cols}) VALUES ({marks})", [values[c] for c in _ITEM_COLUMNS]
    )
    # the counter and the search row come from the items_after_insert trigger
    if item.text:
        await uow.execute("UPDATE item_text SET body = ? WHERE rowid = ?", (item.text, item_id))
    return item_id


async def bump_count(
    uow: UnitOfWork, year: int, month: int, kind: str, outcome: str, delta: int
) -> None:
    await uow.execute(
        "INSERT INTO item_counts (year, month, kind, outcome, n) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (year, month, kind, outcome) DO UPDATE SET n = n + excluded.n",
        (year, month, kind, outcome, delta),
    )


async def update_item_class(
    uow: UnitOfWork, item: Row, *, kind: str | None, outcome: str, reason: str | None = None
) -> None:
    """Change an item's kind/outcome and move it between counters."""
    await uow.execute(
        "UPDATE items SET kind = ?, outcome = ?, reason = ? WHERE id = ?",
        (kind, outcome, reason, item["id"]),
    )
    await bump_count(uow, item["year"], item["month"], item["kind"] or "", item["outcome"], -1)
    await bump_count(uow, item["year"], item["month"], kind or "", outcome, +1)


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str
    year: int
    seq: int
    number: str


async def take_number(
    uow: UnitOfWork, *, item_id: int, kind: str, year: int, fmt: str, at: datetime
) -> Entry:
    """The next number of (kind, year), inside the caller's BEGIN IMMEDIATE transaction."""
    row = await uow.fetchone(
        "INSERT INTO register_seq (kind, year, last) VALUES (?, ?, 1)"
        " ON CONFLICT (kind, year) DO UPDATE SET last = last + 1 RETURNING last",
        (kind, year),
    )
    if row is None:  # pragma: no cover - RETURNING always yields the row
        raise StorageError("无法取号")
    seq = int(row["last"])
    if seq > WIDTH_LIMIT:
        log.warning("%s register of %d passed %d: number widened to %d digits",
                    kind, year, WIDTH_LIMIT, len(str(seq)))
    number = format_number(fmt, year, seq)
    entry_id = await uow.insert(
        "INSERT INTO register_entries (item_id, kind, year, seq, number, registered_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (item_id, kind, year, seq, number, iso(at)),
    )
    return Entry(entry_id, kind, year, seq, number)


async def peek_number(reader: Reader, kind: str, year: int) -> int:
    row = await reader.fetchone(
        "SELECT last FROM register_seq WHERE kind = ? AND year = ?", (kind, year)
    )
    return (row["last"] if row else 0) + 1


async def active_entry(conn: Reader | UnitOfWork, item_id: int) -> Row | None:
    return await conn.fetchone(
        "SELECT * FROM register_entries WHERE item_id = ? AND status = 'active'"
        " ORDER BY id DESC LIMIT 1",
        (item_id,),
    )


async def close_entry(
    uow: UnitOfWork, entry_id: int, *, status: str, note: str, replaced_by: int | None
) -> None:
    await uow.execute(
        "UPDATE register_entries SET status = ?, note = ?, replaced_by = ? WHERE id = ?",
        (status, note, replaced_by, entry_id),
    )


async def get_item(conn: Reader | UnitOfWork, item_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM items WHERE id = ?", (item_id,))


async def entry_by_number(conn: Reader | UnitOfWork, number: str) -> Row | None:
    return await conn.fetchone("SELECT * FROM register_entries WHERE number = ?", (number,))


async def entries_of(conn: Reader | UnitOfWork, item_id: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM register_entries WHERE item_id = ? ORDER BY id", (item_id,)
    )
