"""SQL of the intake queue: items accepted at the edge (`received`) that the pipeline
claims, decides, releases or shunts, and the figures `jiyao queue` shows.

A claim is a lease: `claimed_by` and `claim_until` on the item row, taken in one UPDATE
inside the caller's BEGIN IMMEDIATE. A worker that dies leaves its lease to run out; the
item is then claimed again. `attempts` counts claims taken, so an item that kills its
worker every time is still shunted after the configured number of tries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import iso
from core.model import Outcome
from core.storage.db import Reader, Row, UnitOfWork
from core.storage.items import bump_count, index_text

Conn = Reader | UnitOfWork
_RECEIVED = Outcome.RECEIVED.value


@dataclass(frozen=True)
class Claim:
    item_id: int
    attempts: int


async def claim_next(
    uow: UnitOfWork, *, worker: str, now: datetime, until: datetime, max_attempts: int
) -> Claim | None:
    """Lease the oldest received item nobody holds (or whose lease ran out)."""
    row = await uow.fetchone(
        "UPDATE items SET claimed_by = ?, claim_until = ?, attempts = attempts + 1"
        " WHERE id = (SELECT id FROM items WHERE outcome = ?"
        " AND (claim_until IS NULL OR claim_until <= ?) AND attempts < ?"
        " ORDER BY id LIMIT 1) RETURNING id, attempts",
        (worker, iso(until), _RECEIVED, iso(now), max_attempts),
    )
    return Claim(int(row["id"]), int(row["attempts"])) if row is not None else None


async def claim_item(
    uow: UnitOfWork, item_id: int, *, worker: str, now: datetime, until: datetime
) -> Claim | None:
    """Lease one named item if it is received and nobody holds it."""
    row = await uow.fetchone(
        "UPDATE items SET claimed_by = ?, claim_until = ?, attempts = attempts + 1"
        " WHERE id = ? AND outcome = ? AND (claim_until IS NULL OR claim_until <= ?)"
        " RETURNING id, attempts",
        (worker, iso(until), item_id, _RECEIVED, iso(now)),
    )
    return Claim(int(row["id"]), int(row["attempts"])) if row is not None else None


async def holds(uow: UnitOfWork, item_id: int, worker: str) -> Row | None:
    """The item row if `worker` still holds its claim (it may have run out and moved on)."""
    return await uow.fetchone(
        "SELECT * FROM items WHERE id = ? AND outcome = ? AND claimed_by = ?",
        (item_id, _RECEIVED, worker),
    )


async def release(
    uow: UnitOfWork, item_id: int, worker: str, *, error: str, retry_at: datetime
) -> None:
    """Give the claim back after a failure, not to be claimed again before `retry_at`
    (a passing fault — the blob volume away — must not use up the tries at once)."""
    await uow.execute(
        "UPDATE items SET claimed_by = NULL, claim_until = ?, last_error = ?"
        " WHERE id = ? AND outcome = ? AND claimed_by = ?",
        (iso(retry_at), error, item_id, _RECEIVED, worker),
    )


async def release_all(uow: UnitOfWork, worker: str) -> int:
    """Give back every claim `worker` holds, uncounted (a clean stop is not a failure)."""
    cur = await uow.execute(
        "UPDATE items SET claimed_by = NULL, claim_until = NULL, attempts = attempts - 1"
        " WHERE outcome = ? AND claimed_by = ?",
        (_RECEIVED, worker),
    )
    return int(cur.rowcount)


async def claimers(conn: Conn) -> list[str]:
    """Every worker holding a claim now."""
    rows = await conn.fetchall(
        "SELECT DISTINCT claimed_by FROM items WHERE outcome = ? AND claimed_by IS NOT NULL",
        (_RECEIVED,),
    )
    return [str(r["claimed_by"]) for r in rows]


async def overdue_claimers(conn: Conn, *, now: datetime) -> list[str]:
    """Workers still holding a claim whose lease has run out."""
    rows = await conn.fetchall(
        "SELECT DISTINCT claimed_by FROM items WHERE outcome = ? AND claimed_by IS NOT NULL"
        " AND claim_until <= ?",
        (_RECEIVED, iso(now)),
    )
    return [str(r["claimed_by"]) for r in rows]


async def expire_claims(uow: UnitOfWork, worker: str, *, error: str | None = None) -> int:
    """End a dead worker's leases now; its tries stay counted (the item may have killed it).
    `error`: why it died, when known (kept as the item's last error)."""
    cur = await uow.execute(
        "UPDATE items SET claimed_by = NULL, claim_until = NULL,"
        " last_error = COALESCE(?, last_error) WHERE outcome = ? AND claimed_by = ?",
        (error, _RECEIVED, worker),
    )
    return int(cur.rowcount)


async def exhausted(conn: Conn, *, now: datetime, max_attempts: int) -> list[Row]:
    """Received items whose tries are used up and that nobody holds any more."""
    return await conn.fetchall(
        "SELECT * FROM items WHERE outcome = ? AND attempts >= ?"
        " AND (claim_until IS NULL OR claim_until <= ?) ORDER BY id",
        (_RECEIVED, max_attempts, iso(now)),
    )


async def mark_shunted(uow: UnitOfWork, item: Row, *, error: str, at: datetime) -> None:
    await uow.execute(
        "UPDATE items SET outcome = ?, claimed_by = NULL, claim_until = NULL, last_error = ?,"
        " decided_at = ? WHERE id = ?",
        (Outcome.SHUNTED.value, error, iso(at), item["id"]),
    )
    await _move_count(uow, item, kind=None, outcome=Outcome.SHUNTED.value)


async def mark_received_again(uow: UnitOfWork, item: Row) -> None:
    """A shunted item given back to the pipeline (`jiyao reprocess`): tries start over."""
    await uow.execute(
        "UPDATE items SET outcome = ?, attempts = 0, claimed_by = NULL, claim_until = NULL,"
        " decided_at = NULL WHERE id = ?",
        (_RECEIVED, item["id"]),
    )
    await _move_count(uow, item, kind=None, outcome=_RECEIVED)


#: the columns a decision fills in on a received row
DECIDED_COLUMNS = (
    "channel", "outcome", "kind", "reason", "sender", "doc_number", "doc_type", "secrecy",
    "urgency", "title", "envelope_no", "issue_no", "rule", "evidence", "from_address",
    "subject", "fax_remote_id", "deadline", "findings",
    "copy_no", "signer", "addressees", "cc", "written_on", "attachment_note",
)


async def record_decision(
    uow: UnitOfWork, item: Row, values: dict[str, Any], *, text: str, at: datetime
) -> None:
    """Fill in the decision on a received row, move its counter and index its text."""
    sets = dict(values)
    sets["findings"] = json.dumps(values["findings"], ensure_ascii=False)
    cols = ", ".join(f"{c} = ?" for c in DECIDED_COLUMNS)
    await uow.execute(
        f"UPDATE items SET {cols}, decided_at = ?, claimed_by = NULL, claim_until = NULL"
        " WHERE id = ?",
        [*(sets[c] for c in DECIDED_COLUMNS), iso(at), item["id"]],
    )
    await _move_count(uow, item, kind=values["kind"], outcome=values["outcome"])
    await index_text(uow, item["id"], title=values["title"], body=text)


async def mark_number_pending(uow: UnitOfWork, item_id: int) -> None:
    await uow.execute("UPDATE items SET number_pending = 1 WHERE id = ?", (item_id,))


async def number_pending(uow: UnitOfWork) -> list[Row]:
    """Decided items waiting for their number, in receipt order."""
    return await uow.fetchall(
        "SELECT * FROM items WHERE number_pending = 1 ORDER BY id"
    )


async def any_number_pending(conn: Conn) -> bool:
    return await conn.fetchone("SELECT 1 FROM items WHERE number_pending = 1 LIMIT 1") is not None


async def first_held_by(uow: UnitOfWork, *, received_after: datetime) -> int | None:
    """The first item still undecided that later items wait for: received after the hold
    began (an older one no longer holds them)."""
    row = await uow.fetchone(
        "SELECT MIN(id) AS id FROM items WHERE outcome = ? AND received_at > ?",
        (_RECEIVED, iso(received_after)),
    )
    return int(row["id"]) if row is not None and row["id"] is not None else None


async def clear_number_pending(uow: UnitOfWork, item_id: int) -> None:
    await uow.execute("UPDATE items SET number_pending = 0 WHERE id = ?", (item_id,))


async def _move_count(uow: UnitOfWork, item: Row, *, kind: str | None, outcome: str) -> None:
    await bump_count(uow, item["year"], item["month"], item["kind"] or "", item["outcome"], -1)
    await bump_count(uow, item["year"], item["month"], kind or "", outcome, +1)


# ------------------------------------------------------------------ status


async def status(conn: Conn, *, now: datetime, since: datetime) -> Row:
    """waiting, in progress, shunted, the oldest waiting item's time, decided since `since`."""
    row = await conn.fetchone(
        "SELECT"
        " (SELECT COUNT(*) FROM items WHERE outcome = ?1) AS received,"
        " (SELECT COUNT(*) FROM items WHERE outcome = ?1 AND claim_until >= ?3) AS in_progress,"
        " (SELECT COUNT(*) FROM items WHERE outcome = ?2) AS shunted,"
        " (SELECT MIN(received_at) FROM items WHERE outcome = ?1) AS oldest,"
        " (SELECT COUNT(*) FROM items WHERE decided_at >= ?4 AND created_by = 'intake')"
        " AS decided_recently",
        (_RECEIVED, Outcome.SHUNTED.value, iso(now), iso(since)),
    )
    assert row is not None  # an aggregate always yields its row
    return row
