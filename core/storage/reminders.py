"""SQL of reminder rows: what planning wants (core.reminder_plan), one-off notices, and
the sweeper's due rows. Times are ISO UTC text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from core.clock import iso
from core.reminder_plan import Wanted
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork


#: reminder kinds that planning owns (recomputed on change); others are one-off notices
PLANNED_KINDS = ("before", "due", "overdue", "escalate", "consult")


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
            "INSERT INTO reminders"
            " (due_at, target, subject, kind, text, created_at, dedup, urgent)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup) DO NOTHING",
            (iso(w.due_at), w.target, subject, w.kind, w.text, iso(now), w.dedup,
             int(w.urgent)),
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


async def due_reminders(
    uow: UnitOfWork, now: datetime, limit: int, *, urgent_only: bool = False
) -> list[Row]:
    """Unsent reminders due by `now`; `urgent_only` (outside working hours): 特急 ones."""
    return await uow.fetchall(
        "SELECT * FROM reminders WHERE sent_at IS NULL AND cancelled_at IS NULL AND due_at <= ?"
        + (" AND urgent = 1" if urgent_only else "") + " ORDER BY due_at, id LIMIT ?",
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
