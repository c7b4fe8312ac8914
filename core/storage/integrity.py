"""What the integrity checks last verified (`verified_points`) and the records changed
since (`integrity_dirty`, kept by triggers): the next check starts from there.

The points live in the database they vouch for: whoever can rewrite the database can
rewrite them too. They make the nightly check cheap, not tamper-proof; what holds against
such an attacker is `--full`, the rotating slice of old records each incremental run
re-verifies, and the audit anchor kept outside the data directory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from core.clock import iso
from core.storage.db import Reader, UnitOfWork

#: the parts with a verified point of their own
AUDIT = "audit"
ITEM_BLOBS = "blobs:items"
ATTACHMENT_BLOBS = "blobs:attachments"
PARTS = (AUDIT, ITEM_BLOBS, ATTACHMENT_BLOBS)


@dataclass(frozen=True)
class Point:
    """Verified up to `upto` (an id or rowid); the next rotating slice starts after
    `sweep`. For the audit chain: `hash` of entry `upto`, `count` of entries up to it."""

    part: str
    upto: int
    hash: str | None
    count: int | None
    sweep: int
    at: str
    full_at: str | None


async def points(reader: Reader) -> dict[str, Point]:
    rows = await reader.fetchall(
        "SELECT part, upto, hash, count, sweep, at, full_at FROM verified_points")
    return {row["part"]: Point(**dict(row)) for row in rows}


async def record(
    uow: UnitOfWork, part: str, *, upto: int, sweep: int, at: datetime, full: bool,
    hash: str | None = None, count: int | None = None,
) -> None:
    """Move `part`'s point to `upto` (a full run also stamps `full_at`)."""
    stamp = iso(at)
    await uow.execute(
        "INSERT INTO verified_points (part, upto, hash, count, sweep, at, full_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?7 THEN ?6 END)"
        " ON CONFLICT (part) DO UPDATE SET upto = excluded.upto, hash = excluded.hash,"
        " count = excluded.count, sweep = excluded.sweep, at = excluded.at,"
        " full_at = COALESCE(excluded.full_at, verified_points.full_at)",
        (part, upto, hash, count, sweep, stamp, full),
    )


async def dirty(reader: Reader) -> list[str]:
    """The records changed since the last check (`item:12`, `dispatch:3`)."""
    rows = await reader.fetchall("SELECT subject FROM integrity_dirty ORDER BY subject")
    return [row["subject"] for row in rows]


async def forget_dirty(uow: UnitOfWork, subjects: Iterable[str]) -> None:
    """The records checked and found as their audit entry left them."""
    todo = list(subjects)
    for n in range(0, len(todo), 500):
        chunk = todo[n:n + 500]
        await uow.execute(
            f"DELETE FROM integrity_dirty WHERE subject IN ({', '.join('?' * len(chunk))})",
            chunk)
