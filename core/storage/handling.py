"""SQL of the handling flow (拟办, 批办, 承办, 办结, 答复): item_handling and item_assignments.
Dates are ISO 'YYYY-MM-DD' text, times ISO UTC text; unit lists are JSON arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from core.clock import iso
from core.storage.db import Reader, Row, UnitOfWork

Conn = Reader | UnitOfWork


async def get(conn: Conn, item_id: int) -> Row | None:
    return await conn.fetchone("SELECT * FROM item_handling WHERE item_id = ?", (item_id,))


async def ensure(uow: UnitOfWork, item_id: int, *, step: str, holder: str | None,
                 at: datetime) -> None:
    """The item's handling row, created at `step` when it has none."""
    await uow.execute(
        "INSERT INTO item_handling (item_id, step, holder, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (item_id) DO NOTHING",
        (item_id, step, holder, iso(at)),
    )


async def set_step(uow: UnitOfWork, item_id: int, *, step: str, holder: str | None,
                   at: datetime) -> None:
    await uow.execute(
        "UPDATE item_handling SET step = ?, holder = ?, updated_at = ? WHERE item_id = ?",
        (step, holder, iso(at), item_id),
    )


@dataclass(frozen=True)
class Proposal:
    text: str
    leader: str | None
    units: tuple[str, ...]
    due: date | None


async def set_proposal(uow: UnitOfWork, item_id: int, p: Proposal, *, by: str,
                       at: datetime) -> None:
    await uow.execute(
        "UPDATE item_handling SET proposal = ?, proposal_leader = ?, proposal_units = ?,"
        " proposal_due = ?, proposed_by = ?, proposed_at = ?, accepted_by = NULL,"
        " accepted_at = NULL, updated_at = ? WHERE item_id = ?",
        (p.text, p.leader, json.dumps(list(p.units), ensure_ascii=False),
         p.due.isoformat() if p.due else None, by, iso(at), iso(at), item_id),
    )


def proposal_of(row: Row) -> Proposal | None:
    if row["proposal"] is None:
        return None
    due = row["proposal_due"]
    return Proposal(row["proposal"], row["proposal_leader"],
                    tuple(json.loads(row["proposal_units"])),
                    date.fromisoformat(due) if due else None)


async def accept_proposal(uow: UnitOfWork, item_id: int, *, by: str, at: datetime) -> None:
    await uow.execute(
        "UPDATE item_handling SET accepted_by = ?, accepted_at = ?, updated_at = ?"
        " WHERE item_id = ?",
        (by, iso(at), iso(at), item_id),
    )


async def set_supervised(uow: UnitOfWork, item_id: int, on: bool, at: datetime) -> None:
    await uow.execute(
        "UPDATE item_handling SET supervised = ?, updated_at = ? WHERE item_id = ?",
        (int(on), iso(at), item_id),
    )


# ------------------------------------------------------------------ 承办
@dataclass(frozen=True)
class Assignment:
    role: str  # 主办 | 协办
    unit: str
    due: date


async def replace_assignments(
    uow: UnitOfWork, item_id: int, assignments: list[Assignment], *, by: str, at: datetime
) -> list[int]:
    """Make `assignments` the item's active ones (earlier ones kept, marked replaced)."""
    await uow.execute(
        "UPDATE item_assignments SET status = 'replaced' WHERE item_id = ? AND status = 'active'",
        (item_id,),
    )
    return [
        await uow.insert(
            "INSERT INTO item_assignments (item_id, role, unit, due_on, assigned_at, assigned_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (item_id, a.role, a.unit, a.due.isoformat(), iso(at), by),
        )
        for a in assignments
    ]


async def assignments(conn: Conn, item_id: int) -> list[Row]:
    """The active assignments of an item, 主办 first."""
    return await conn.fetchall(
        "SELECT * FROM item_assignments WHERE item_id = ? AND status = 'active'"
        " ORDER BY CASE role WHEN '主办' THEN 0 ELSE 1 END, id",
        (item_id,),
    )


async def mark_told(uow: UnitOfWork, assignment_id: int, *, how: str, at: datetime) -> None:
    await uow.execute(
        "UPDATE item_assignments SET told_at = ?, told_how = ? WHERE id = ?",
        (iso(at), how, assignment_id),
    )


async def set_notice_id(uow: UnitOfWork, assignment_id: int, message_id: str) -> None:
    await uow.execute("UPDATE item_assignments SET notice_id = ? WHERE id = ?",
                      (message_id, assignment_id))


async def assignment_by_notice(conn: Conn, message_ids: list[str]) -> Row | None:
    """The active assignment whose mailed notice is one of `message_ids`."""
    if not message_ids:
        return None
    marks = ", ".join("?" for _ in message_ids)
    return await conn.fetchone(
        f"SELECT * FROM item_assignments WHERE status = 'active' AND notice_id IN ({marks})"
        " ORDER BY id DESC LIMIT 1",
        tuple(message_ids),
    )


async def set_done_reply(uow: UnitOfWork, item_id: int, reply_item: int) -> None:
    await uow.execute("UPDATE item_handling SET done_reply_item = ? WHERE item_id = ?",
                      (reply_item, item_id))


# ------------------------------------------------------------------ 办结, 答复
async def set_done(uow: UnitOfWork, item_id: int, *, result: str | None, by: str,
                   reply_owed: str | None, holder: str | None, at: datetime) -> None:
    await uow.execute(
        "UPDATE item_handling SET step = '已办结', holder = ?, result = ?, done_at = ?,"
        " done_by = ?, reply_owed = ?, updated_at = ? WHERE item_id = ?",
        (holder, result, iso(at), by, reply_owed, iso(at), item_id),
    )


async def link_reply(uow: UnitOfWork, item_id: int, number: str, at: datetime) -> None:
    await uow.execute(
        "UPDATE item_handling SET reply_number = ?, reply_linked_at = ?, updated_at = ?"
        " WHERE item_id = ?",
        (number, iso(at), iso(at), item_id),
    )


async def reply_linked_to(conn: Conn, number: str) -> Row | None:
    """The item a 答复 number answers, if any."""
    return await conn.fetchone(
        "SELECT item_id FROM item_handling WHERE reply_number = ?", (number,)
    )


async def replies_owed(conn: Conn) -> list[Row]:
    """Finished items still owing their sender a 答复."""
    return await conn.fetchall(
        "SELECT h.*, i.sender, i.title, i.doc_number FROM item_handling h"
        " JOIN items i ON i.id = h.item_id"
        " WHERE h.step = '已办结' AND h.reply_owed IS NOT NULL AND h.reply_number IS NULL"
        " ORDER BY h.done_at"
    )


# ------------------------------------------------------------------ 传阅
async def held_copies(conn: Conn, since_before: datetime) -> list[Row]:
    """传阅 turns (内刊 copies) a leader has held since before `since_before`."""
    return await conn.fetchall(
        "SELECT c.item_id, c.position, c.leader, c.chat_id, c.sent_at, i.title, i.secrecy,"
        " i.outcome, i.issue_no FROM circulation c JOIN items i ON i.id = c.item_id"
        " WHERE c.status = 'current' AND c.sent_at IS NOT NULL AND c.sent_at <= ?"
        " ORDER BY c.sent_at",
        (iso(since_before),),
    )
