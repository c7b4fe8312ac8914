"""SQL of 主动公开: publication cycles of dispatch records (disclosure_tasks) and their
保密审查 (secrecy_reviews). Dates are ISO 'YYYY-MM-DD' text, times ISO UTC text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork


# ------------------------------------------------------------------ 主动公开 cycles
async def dispatches_to_sync(conn: Conn) -> list[Row]:
    """Dispatch records whose 主动公开 tracking is missing or no longer matches the record.

    Missing: active, 主动公开, with a 成文日期 and no open or published cycle.
    Stale: an open cycle whose record was voided, lost 主动公开 or its date, or whose
    成文日期 or section changed.
    """
    return await conn.fetchall(
        "SELECT d.id FROM dispatches d"
        " WHERE d.status = 'active' AND d.disclosure = '主动公开' AND d.written_on IS NOT NULL"
        "   AND NOT EXISTS (SELECT 1 FROM disclosure_tasks t WHERE t.dispatch_id = d.id"
        "                   AND t.status IN ('open', 'published'))"
        " UNION "
        "SELECT d.id FROM dispatches d JOIN disclosure_tasks t"
        "   ON t.dispatch_id = d.id AND t.status = 'open'"
        " WHERE d.status <> 'active' OR d.disclosure IS DISTINCT FROM '主动公开'"
        "   OR d.written_on IS NULL"
        "   OR (t.base_kind = '成文' AND t.base_on <> d.written_on)"
        "   OR t.section <> COALESCE(d.section, d.owner)",
    )


async def open_task(conn: Conn, dispatch_id: int) -> Row | None:
    return await conn.fetchone(
        "SELECT * FROM disclosure_tasks WHERE dispatch_id = ? AND status = 'open'", (dispatch_id,)
    )


async def latest_task(conn: Conn, dispatch_id: int) -> Row | None:
    return await conn.fetchone(
        "SELECT * FROM disclosure_tasks WHERE dispatch_id = ? ORDER BY cycle DESC LIMIT 1",
        (dispatch_id,),
    )


async def get_task(conn: Conn, task_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM disclosure_tasks WHERE id = ?", (task_id,))


@dataclass(frozen=True)
class NewTask:
    dispatch_id: int
    section: str
    base_on: date
    base_kind: str
    due_on: date
    provisional: bool
    note: str | None = None


async def insert_task(uow: UnitOfWork, task: NewTask, at: datetime) -> int:
    row = await uow.fetchone(
        "SELECT COALESCE(MAX(cycle), 0) + 1 AS n FROM disclosure_tasks WHERE dispatch_id = ?",
        (task.dispatch_id,),
    )
    cycle = int(row["n"]) if row else 1
    return await uow.insert(
        "INSERT INTO disclosure_tasks (dispatch_id, cycle, section, base_on, base_kind, due_on,"
        " provisional, note, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (task.dispatch_id, cycle, task.section, task.base_on.isoformat(), task.base_kind,
         task.due_on.isoformat(), int(task.provisional), task.note, iso(at), iso(at)),
    )


async def update_task(
    uow: UnitOfWork,
    task_id: int,
    *,
    section: str,
    base_on: date,
    due_on: date,
    provisional: bool,
    at: datetime,
) -> None:
    await uow.execute(
        "UPDATE disclosure_tasks SET section = ?, base_on = ?, due_on = ?, provisional = ?,"
        " updated_at = ? WHERE id = ?",
        (section, base_on.isoformat(), due_on.isoformat(), int(provisional), iso(at), task_id),
    )


async def close_task(
    uow: UnitOfWork,
    task_id: int,
    *,
    status: str,
    at: datetime,
    by: str,
    published_on: date | None = None,
    url: str | None = None,
    note: str | None = None,
) -> None:
    await uow.execute(
        "UPDATE disclosure_tasks SET status = ?, published_on = ?, url = ?,"
        " note = COALESCE(?, note), updated_at = ?, closed_by = ? WHERE id = ?",
        (status, published_on.isoformat() if published_on else None, url, note, iso(at), by,
         task_id),
    )


async def append_task_note(uow: UnitOfWork, task_id: int, note: str, at: datetime) -> None:
    await uow.execute(
        "UPDATE disclosure_tasks SET note = CASE WHEN note IS NULL OR note = '' THEN ?"
        " ELSE note || '；' || ? END, updated_at = ? WHERE id = ?",
        (note, note, iso(at), task_id),
    )


_TASK_VIEW = (
    "SELECT t.*, d.number, d.title, d.code, d.written_on, d.status AS dispatch_status,"
    " (SELECT r.result FROM secrecy_reviews r WHERE r.dispatch_id = d.id"
    "  ORDER BY r.id DESC LIMIT 1) AS review_result"
    " FROM disclosure_tasks t JOIN dispatches d ON d.id = t.dispatch_id"
)


async def task_view(conn: Conn, task_id: int) -> Row | None:
    """One cycle with its record's number and title and the latest review result."""
    return await conn.fetchone(_TASK_VIEW + " WHERE t.id = ?", (task_id,))


async def tasks(conn: Conn, *, open_only: bool) -> list[Row]:
    where = " WHERE t.status = 'open'" if open_only else ""
    return await conn.fetchall(_TASK_VIEW + where + " ORDER BY t.due_on, t.id")


async def tasks_due_between(conn: Conn, first: date, last: date) -> list[Row]:
    """Cycles whose due day falls in [first, last] (any status but cancelled)."""
    return await conn.fetchall(
        _TASK_VIEW + " WHERE t.status <> 'cancelled' AND t.due_on BETWEEN ? AND ?"
        " ORDER BY t.due_on, t.id",
        (first.isoformat(), last.isoformat()),
    )


async def tasks_published_between(conn: Conn, first: date, last: date) -> list[Row]:
    return await conn.fetchall(
        _TASK_VIEW + " WHERE t.status = 'published' AND t.published_on BETWEEN ? AND ?",
        (first.isoformat(), last.isoformat()),
    )


async def disclosed_dispatches(conn: Conn) -> list[Row]:
    """Active 主动公开 dispatch records (for counting what sections provided)."""
    return await conn.fetchall(
        "SELECT id, number, COALESCE(section, owner) AS section, taken_at, written_on,"
        " catalogue_column FROM dispatches WHERE status = 'active' AND disclosure = '主动公开'"
    )


async def provisional_tasks(conn: Conn) -> list[Row]:
    """Open cycles whose due day was only provisional."""
    return await conn.fetchall(
        "SELECT dispatch_id, due_on FROM disclosure_tasks WHERE status = 'open' AND provisional = 1"
    )


# ------------------------------------------------------------------ 保密审查
async def add_review(
    uow: UnitOfWork,
    *,
    dispatch_id: int,
    reviewer: str,
    reviewed_on: date,
    result: str,
    note: str | None,
    at: datetime,
    by: str,
) -> int:
    return await uow.insert(
        "INSERT INTO secrecy_reviews (dispatch_id, reviewer, reviewed_on, result, note,"
        " recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (dispatch_id, reviewer, reviewed_on.isoformat(), result, note, iso(at), by),
    )


async def latest_review(conn: Conn, dispatch_id: int) -> Row | None:
    return await conn.fetchone(
        "SELECT * FROM secrecy_reviews WHERE dispatch_id = ? ORDER BY id DESC LIMIT 1",
        (dispatch_id,),
    )
