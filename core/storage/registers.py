"""SQL of the incoming registers: numbers taken (register_seq), register entries and
their corrections (错情). Services call these inside a unit of work or a reader."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import iso
from core.errors import StorageError
from core.registers import WIDTH_LIMIT, format_number
from core.storage.db import Reader, Row, UnitOfWork

log = logging.getLogger(__name__)

Conn = Reader | UnitOfWork


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str
    year: int
    seq: int
    number: str


async def take_number(
    uow: UnitOfWork, *, item_id: int, kind: str, year: int, fmt: str, at: datetime, by: str
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
        "INSERT INTO register_entries"
        " (item_id, kind, year, seq, number, registered_at, registered_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (item_id, kind, year, seq, number, iso(at), by),
    )
    # the first number an item gets (the lag 250 → numbered is measured to it)
    await uow.execute(
        "UPDATE items SET numbered_at = COALESCE(numbered_at, ?) WHERE id = ?", (iso(at), item_id)
    )
    return Entry(entry_id, kind, year, seq, number)


async def peek_number(reader: Reader, kind: str, year: int) -> int:
    row = await reader.fetchone(
        "SELECT last FROM register_seq WHERE kind = ? AND year = ?", (kind, year)
    )
    return (row["last"] if row else 0) + 1


async def active_entry(conn: Conn, item_id: int) -> Row | None:
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


async def entries_of(conn: Conn, item_id: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM register_entries WHERE item_id = ? ORDER BY id", (item_id,)
    )


async def active_number(conn: Conn, item_id: int) -> str | None:
    entry = await active_entry(conn, item_id)
    return str(entry["number"]) if entry else None


async def item_of_number(conn: Conn, kind: str, year: int, seq: int) -> int | None:
    """The item an entry (办2026-0001: kind, year, seq) was taken for."""
    row = await conn.fetchone(
        "SELECT item_id FROM register_entries WHERE kind = ? AND year = ? AND seq = ?",
        (kind, year, seq),
    )
    return int(row["item_id"]) if row else None


async def add_correction(
    uow: UnitOfWork, *, item_id: int, year: int, from_kind: str | None, to_kind: str,
    reason: str, old_entry: int | None, new_entry: int | None, actor: str, at: datetime,
) -> None:
    await uow.execute(
        "INSERT INTO corrections (item_id, year, from_kind, to_kind, reason, old_entry,"
        " new_entry, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (item_id, year, from_kind, to_kind, reason, old_entry, new_entry, actor, iso(at)),
    )


async def corrections(conn: Conn, year: int) -> list[Row]:
    """The year's corrections with the numbers they voided and took, in order."""
    return await conn.fetchall(
        "SELECT c.*, o.number AS old_number, n.number AS new_number FROM corrections c"
        " LEFT JOIN register_entries o ON o.id = c.old_entry"
        " LEFT JOIN register_entries n ON n.id = c.new_entry"
        " WHERE c.year = ? ORDER BY c.id",
        (year,),
    )


async def register_rows(conn: Conn, year: int) -> list[dict[str, Any]]:
    """The 收文登记簿 of a year: one row per register entry, in number order."""
    rows = await conn.fetchall(
        "SELECT e.number, e.kind, e.seq, e.status, e.note, e.registered_at,"
        " COALESCE(e.registered_by, i.created_by) AS registered_by,"
        " n.number AS replaced_by_number, i.id AS item_id, i.received_at, i.channel,"
        " i.sender, i.doc_number, i.title, i.secrecy, i.urgency,"
        " i.copy_no, i.signer, i.addressees, i.cc, i.written_on, i.attachment_note,"
        " EXISTS (SELECT 1 FROM attachments a WHERE a.item_id = i.id AND a.ocr IS NOT NULL)"
        " AS ocr"
        " FROM register_entries e JOIN items i ON i.id = e.item_id"
        " LEFT JOIN register_entries n ON n.id = e.replaced_by"
        " WHERE e.year = ? ORDER BY e.kind, e.seq",
        (year,),
    )
    return [dict(row) for row in rows]


async def sequence_problems(reader: Reader) -> list[str]:
    """Every (kind, year) register must be exactly 1..n with its counter at n."""
    rows = await reader.fetchall(
        "SELECT e.kind, e.year, COUNT(*) AS n, MIN(e.seq) AS lo, MAX(e.seq) AS hi,"
        " s.last AS last FROM register_entries e"
        " LEFT JOIN register_seq s ON s.kind = e.kind AND s.year = e.year"
        " GROUP BY e.kind, e.year"
    )
    return [
        f"{row['year']}年{row['kind']}登记簿不连续：{row['n']} 条，"
        f"序号 {row['lo']}–{row['hi']}，计数器 {row['last']}"
        for row in rows
        if not (row["lo"] == 1 and row["hi"] == row["n"] == row["last"])
    ]
