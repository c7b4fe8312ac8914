"""SQL for deadlines: 主动公开 cycles, 保密审查, requests, 催办 of 办件, reminder rows.

Services call these inside a unit of work (writes) or a reader. Dates are ISO
'YYYY-MM-DD' text, times ISO UTC text (`core.clock.iso`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork

#: reminder kinds that planning owns (recomputed on change); others are one-off notices
PLANNED_KINDS = ("before", "due", "overdue", "consult")


# ------------------------------------------------------------------ dispatches
async def get_dispatch(conn: Conn, dispatch_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM dispatches WHERE id = ?", (dispatch_id,))


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


# ------------------------------------------------------------------ 主动公开 cycles
async def open_task(conn: Conn, dispatch_id: int) -> Row | None:
    return await conn.fetchone(
        "SELECT * FROM disclosure_tasks WHERE dispatch_id = ? AND status = 'open'", (dispatch_id,)
    )


async def latest_task(conn: Conn, dispatch_id: int) -> Row | None:
    return await conn.fetchone(
        "SELECT * FROM disclosure_tasks WHERE dispatch_id = ? ORDER BY cycle DESC LIMIT 1",
        (dispatch_id,),
    )


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
        "SELECT id, number, COALESCE(section, owner) AS section, taken_at, written_on"
        " FROM dispatches WHERE status = 'active' AND disclosure = '主动公开'"
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


# ------------------------------------------------------------------ requests
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


# ------------------------------------------------------------------ 催办 of 办件
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


async def provisional_rows(conn: Conn) -> tuple[list[Row], list[Row], list[Row]]:
    """Open cycles, follow-ups and requests whose due day was only provisional."""
    tasks_ = await conn.fetchall(
        "SELECT dispatch_id, due_on FROM disclosure_tasks WHERE status = 'open' AND provisional = 1"
    )
    items = await conn.fetchall(
        "SELECT item_id, due_on FROM item_followups WHERE status = 'open' AND provisional = 1"
    )
    reqs = await conn.fetchall(
        "SELECT id, due_on FROM info_requests WHERE state <> 'answered' AND provisional = 1"
    )
    return tasks_, items, reqs


async def open_followups(conn: Conn) -> list[Row]:
    return await conn.fetchall(
        "SELECT f.*, i.title, i.sender, i.urgency, i.kind, i.secrecy, e.number"
        " FROM item_followups f"
        " JOIN items i ON i.id = f.item_id"
        " LEFT JOIN register_entries e ON e.item_id = i.id AND e.kind = '办件'"
        "   AND e.status = 'active'"
        " WHERE f.status = 'open' ORDER BY f.due_on, f.item_id"
    )


async def items_received_between(conn: Conn, start: datetime, end: datetime) -> list[Row]:
    """Items received in [start, end): kind and outcome, for the digest."""
    return await conn.fetchall(
        "SELECT kind, outcome, COUNT(*) AS n FROM items WHERE received_at >= ? AND received_at < ?"
        " GROUP BY kind, outcome",
        (iso(start), iso(end)),
    )


# ------------------------------------------------------------------ reminders
@dataclass(frozen=True)
class Wanted:
    """A reminder planning wants to exist; `insert` False keeps an existing row only."""

    dedup: str
    due_at: datetime
    target: str
    kind: str
    text: str
    insert: bool = True


async def replan(
    uow: UnitOfWork, subject: str, wanted: Sequence[Wanted], now: datetime
) -> tuple[int, int]:
    """Make the subject's planned reminders match `wanted`: add new ones, cancel stale unsent.

    Rows already present (sent or not) are never duplicated. Returns (added, cancelled).
    """
    added = 0
    for w in wanted:
        if not w.insert:
            continue
        cur = await uow.execute(
            "INSERT INTO reminders (due_at, target, subject, kind, text, created_at, dedup)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup) DO NOTHING",
            (iso(w.due_at), w.target, subject, w.kind, w.text, iso(now), w.dedup),
        )
        added += max(cur.rowcount, 0)
    return added, await cancel_planned(uow, subject, now, keep=[w.dedup for w in wanted])


async def cancel_planned(
    uow: UnitOfWork, subject: str, now: datetime, *, keep: Iterable[str] = ()
) -> int:
    """Cancel the subject's unsent planned reminders except those whose key is in `keep`."""
    keep_set = set(keep)
    rows = await uow.fetchall(
        "SELECT id, dedup FROM reminders WHERE subject = ? AND sent_at IS NULL"
        " AND cancelled_at IS NULL AND kind IN (" + ", ".join("?" for _ in PLANNED_KINDS) + ")",
        (subject, *PLANNED_KINDS),
    )
    stale = [r["id"] for r in rows if r["dedup"] not in keep_set]
    for rid in stale:
        await uow.execute("UPDATE reminders SET cancelled_at = ? WHERE id = ?", (iso(now), rid))
    return len(stale)


async def add_notice(
    uow: UnitOfWork,
    *,
    dedup: str,
    due_at: datetime,
    target: str,
    subject: str,
    kind: str,
    text: str,
    now: datetime,
) -> bool:
    """A one-off notice row; False when one with this key exists already."""
    cur = await uow.execute(
        "INSERT INTO reminders (due_at, target, subject, kind, text, created_at, dedup)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup) DO NOTHING",
        (iso(due_at), target, subject, kind, text, iso(now), dedup),
    )
    return cur.rowcount > 0


async def due_reminders(uow: UnitOfWork, now: datetime, limit: int) -> list[Row]:
    return await uow.fetchall(
        "SELECT * FROM reminders WHERE sent_at IS NULL AND cancelled_at IS NULL AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?",
        (iso(now), limit),
    )


async def mark_sent(uow: UnitOfWork, reminder_id: int, *, at: datetime, late: bool) -> bool:
    """Mark one reminder sent; False when another sweeper got there first."""
    cur = await uow.execute(
        "UPDATE reminders SET sent_at = ?, late = ? WHERE id = ? AND sent_at IS NULL",
        (iso(at), int(late), reminder_id),
    )
    return cur.rowcount > 0


async def reminders_of(conn: Conn, subject: str) -> list[Row]:
    return await conn.fetchall(
        "SELECT * FROM reminders WHERE subject = ? ORDER BY due_at, id", (subject,)
    )
