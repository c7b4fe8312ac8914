"""SQL for outgoing numbers (dispatches, dispatch_seq). Services call these in a unit of work."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.clock import iso
from core.copies import CopiesRequest, CopyCount, Share
from core.numbering import Style, format_number
from core.storage.db import Reader, Row, UnitOfWork


@dataclass(frozen=True)
class NewDispatch:
    code: str
    year: int
    style: Style
    title: str
    owner: str
    section: str | None
    written_on: date | None
    disclosure: str | None
    withhold_reason: str | None
    carrier: str | None
    catalogue_column: str | None
    taken_at: datetime
    taken_by: str
    secrecy: str | None = None


@dataclass(frozen=True)
class TakenNumber:
    id: int
    code: str
    year: int
    seq: int
    number: str


async def bump_seq(uow: UnitOfWork, code: str, year: int) -> int:
    """The next sequence of (code, year); call only inside a BEGIN IMMEDIATE unit of work."""
    # fetchall steps the statement to completion (RETURNING writes as it is stepped)
    rows = await uow.fetchall(
        "INSERT INTO dispatch_seq (code, year, last) VALUES (?, ?, 1)"
        " ON CONFLICT (code, year) DO UPDATE SET last = last + 1 RETURNING last",
        (code, year),
    )
    return int(rows[0]["last"])


async def insert(uow: UnitOfWork, new: NewDispatch) -> TakenNumber:
    """Take the next number of the code's yearly sequence and record it."""
    seq = await bump_seq(uow, new.code, new.year)
    number = format_number(new.code, new.year, seq, new.style)
    dispatch_id = await uow.insert(
        "INSERT INTO dispatches (code, year, seq, number, style, title, owner, section,"
        " written_on, disclosure, withhold_reason, carrier, catalogue_column, taken_at, taken_by,"
        " secrecy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new.code, new.year, seq, number, new.style, new.title, new.owner, new.section,
         new.written_on.isoformat() if new.written_on else None, new.disclosure,
         new.withhold_reason, new.carrier, new.catalogue_column, iso(new.taken_at),
         new.taken_by, new.secrecy),
    )
    return TakenNumber(dispatch_id, new.code, new.year, seq, number)


async def by_ref(conn: Reader | UnitOfWork, code: str, year: int, seq: int) -> Row | None:
    return await conn.fetchone(
        "SELECT * FROM dispatches WHERE code = ? AND year = ? AND seq = ?", (code, year, seq)
    )


async def latest_issue(conn: Reader | UnitOfWork, code: str, seq: int) -> Row | None:
    """A year-less issue number (政府会 第3期): the latest year that has it."""
    return await conn.fetchone(
        "SELECT * FROM dispatches WHERE code = ? AND seq = ? AND style = 'issue'"
        " ORDER BY year DESC LIMIT 1",
        (code, seq),
    )


async def mark_void(
    uow: UnitOfWork, dispatch_id: int, *, reason: str, at: datetime, by: str
) -> None:
    await uow.execute(
        "UPDATE dispatches SET status = 'void', void_reason = ?, voided_at = ?, voided_by = ?"
        " WHERE id = ? AND status = 'active'",
        (reason, iso(at), by, dispatch_id),
    )


async def update_attributes(uow: UnitOfWork, dispatch_id: int, values: dict[str, Any]) -> None:
    """Set 成文日期, 密级 and/or the disclosure attributes (column names fixed by the caller)."""
    allowed = {"written_on", "disclosure", "withhold_reason", "carrier", "catalogue_column",
               "secrecy"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if not values:
        return
    sets = ", ".join(f"{col} = ?" for col in values)
    await uow.execute(
        f"UPDATE dispatches SET {sets} WHERE id = ?", (*values.values(), dispatch_id)
    )


async def listing(
    reader: Reader, *, year: int | None = None, code: str | None = None
) -> list[Row]:
    """Dispatches in register order (code, then sequence), optionally of one year/code."""
    sql = "SELECT * FROM dispatches WHERE 1 = 1"
    params: list[Any] = []
    if year is not None:
        sql += " AND year = ?"
        params.append(year)
    if code is not None:
        sql += " AND code = ?"
        params.append(code)
    sql += " ORDER BY year, code, seq"
    return await reader.fetchall(sql, params)


async def sequence_problems(reader: Reader) -> list[str]:
    """Every (code, year) sequence must be exactly 1..n with its counter at n."""
    rows = await reader.fetchall(
        "SELECT d.code, d.year, COUNT(*) AS n, MIN(d.seq) AS lo, MAX(d.seq) AS hi,"
        " s.last AS last FROM dispatches d"
        " LEFT JOIN dispatch_seq s ON s.code = d.code AND s.year = d.year"
        " GROUP BY d.code, d.year"
    )
    return [
        f"{row['year']}年{row['code']}发文字号不连续：{row['n']} 条，"
        f"序号 {row['lo']}–{row['hi']}，计数器 {row['last']}"
        for row in rows
        if not (row["lo"] == 1 and row["hi"] == row["n"] == row["last"])
    ]


async def get(conn: Reader | UnitOfWork, dispatch_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM dispatches WHERE id = ?", (dispatch_id,))


# ------------------------------------------------------------------ 印数 and 分发
async def record_copies(uow: UnitOfWork, dispatch_id: int, req: CopiesRequest, count: CopyCount,
                        *, at: datetime, by: str) -> None:
    """Keep the print count's calculation and 分发 with the number (taken in this unit)."""
    await uow.execute(
        "INSERT INTO dispatch_copies (dispatch_id, lists, departments, add_units, remove_units,"
        " extra, fax, total, lines, recorded_at, recorded_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (dispatch_id, json.dumps(req.lists, ensure_ascii=False), req.departments,
         req.add_units, req.remove_units, req.extra, int(req.fax), count.total,
         json.dumps(count.lines, ensure_ascii=False), iso(at), by),
    )
    for position, share in enumerate(count.shares, start=1):
        await uow.execute(
            "INSERT INTO dispatch_shares (dispatch_id, position, recipient, units, copies)"
            " VALUES (?, ?, ?, ?, ?)",
            (dispatch_id, position, share.recipient, share.units, share.copies),
        )


@dataclass(frozen=True)
class KeptCount:
    """A dispatch's recorded print count: the request, the calculation and the 分发."""

    request: CopiesRequest
    count: CopyCount


async def copies_of(conn: Reader | UnitOfWork, dispatch_ids: Sequence[int]) -> dict[int, KeptCount]:
    """The recorded print counts of these dispatches (those without one are absent)."""
    if not dispatch_ids:
        return {}
    marks = ", ".join("?" * len(dispatch_ids))
    rows = await conn.fetchall(
        f"SELECT * FROM dispatch_copies WHERE dispatch_id IN ({marks})", list(dispatch_ids))
    shares: dict[int, list[Share]] = {}
    for s in await conn.fetchall(
        f"SELECT * FROM dispatch_shares WHERE dispatch_id IN ({marks})"
        " ORDER BY dispatch_id, position", list(dispatch_ids),
    ):
        shares.setdefault(s["dispatch_id"], []).append(Share(s["recipient"], s["units"],
                                                             s["copies"]))
    return {
        r["dispatch_id"]: KeptCount(
            CopiesRequest(json.loads(r["lists"]), r["departments"], r["add_units"],
                          r["remove_units"], r["extra"], bool(r["fax"])),
            CopyCount(r["total"], json.loads(r["lines"]), shares.get(r["dispatch_id"], []),
                      fax=bool(r["fax"])),
        )
        for r in rows
    }
