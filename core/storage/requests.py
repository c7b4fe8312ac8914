"""SQL of 依申请公开: applications (info_requests) and their event history
(info_request_events). Dates are ISO 'YYYY-MM-DD' text, times ISO UTC text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork


async def insert_request(uow: UnitOfWork, values: dict[str, Any]) -> int:
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    return await uow.insert(f"INSERT INTO info_requests ({cols}) VALUES ({marks})",
                            list(values.values()))


async def get_request(conn: Conn, request_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM info_requests WHERE id = ?", (request_id,))


async def request_events(conn: Conn, request_id: int) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM info_request_events WHERE request_id = ? ORDER BY id", (request_id,)
    )


async def add_request_event(
    uow: UnitOfWork,
    *,
    request_id: int,
    kind: str,
    on: date,
    workdays: int | None,
    reason: str | None,
    note: str | None,
    at: datetime,
    actor: str,
) -> int:
    return await uow.insert(
        "INSERT INTO info_request_events (request_id, kind, on_date, workdays, reason, note,"
        " at, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (request_id, kind, on.isoformat(), workdays, reason, note, iso(at), actor),
    )


async def update_request(uow: UnitOfWork, request_id: int, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    await uow.execute(
        f"UPDATE info_requests SET {sets} WHERE id = ?", [*values.values(), request_id]
    )


async def requests(conn: Conn, *, open_only: bool) -> list[Row]:
    where = " WHERE state <> 'answered'" if open_only else ""
    return await conn.fetchall(f"SELECT * FROM info_requests{where} ORDER BY id")


async def provisional_requests(conn: Conn) -> list[Row]:
    """Open requests whose due day was only provisional."""
    return await conn.fetchall(
        "SELECT id, due_on FROM info_requests WHERE state <> 'answered' AND provisional = 1"
    )


async def requests_of_year(conn: Conn, first: date, last: date) -> list[Row]:
    """Requests open at some time in [first, last] (received by `last`, not answered
    before `first`), each with the day of its extension if any (the annual report)."""
    return await conn.fetchall(
        "SELECT r.*, (SELECT MIN(e.on_date) FROM info_request_events e"
        "  WHERE e.request_id = r.id AND e.kind = 'extend') AS extended_on"
        " FROM info_requests r WHERE r.received_on <= ?"
        " AND (r.answered_on IS NULL OR r.answered_on >= ?) ORDER BY r.id",
        (last.isoformat(), first.isoformat()),
    )
