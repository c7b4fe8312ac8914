"""Maintenance use cases: integrity check, audit verification, online backup."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from core.errors import StorageError
from core.services import dispatch
from core.services.context import Context
from core.storage import audit


async def verify_audit(ctx: Context) -> list[str]:
    async with ctx.db.reader() as r:
        return await audit.verify(r)


async def check(ctx: Context) -> list[str]:
    """Problems in the database and blob store (empty when all is well)."""
    problems: list[str] = []
    async with ctx.db.reader() as r:
        rows = await r.fetchall("PRAGMA integrity_check")
        bad = [row[0] for row in rows if row[0] != "ok"]
        problems += [f"数据库完整性：{b}" for b in bad]
        fk = await r.fetchall("PRAGMA foreign_key_check")
        problems += [f"外键不符：{tuple(row)}" for row in fk]
        # every (kind, year) register must be exactly 1..n with its counter at n
        for row in await r.fetchall(
            "SELECT e.kind, e.year, COUNT(*) AS n, MIN(e.seq) AS lo, MAX(e.seq) AS hi,"
            " s.last AS last FROM register_entries e"
            " LEFT JOIN register_seq s ON s.kind = e.kind AND s.year = e.year"
            " GROUP BY e.kind, e.year"
        ):
            if not (row["lo"] == 1 and row["hi"] == row["n"] == row["last"]):
                problems.append(
                    f"{row['year']}年{row['kind']}登记簿不连续：{row['n']} 条，"
                    f"序号 {row['lo']}–{row['hi']}，计数器 {row['last']}"
                )
        blobs = await r.fetchall(
            "SELECT raw_blob AS d FROM items WHERE raw_blob IS NOT NULL"
            " UNION SELECT sha256 FROM attachments"
        )
    for row in blobs:
        problem = await asyncio.to_thread(ctx.blobs.verify, row["d"])
        if problem:
            problems.append(problem)
    problems += await dispatch.check(ctx)
    problems += await verify_audit(ctx)
    return problems


def _backup(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(src)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


async def backup(ctx: Context, dest: Path) -> Path:
    """Copy the live database with the SQLite online backup API."""
    return await asyncio.to_thread(_backup_to, ctx.db.path, dest)


def _backup_to(src: Path, dest: Path) -> Path:
    if dest.is_dir():
        dest = dest / "jiyao-backup.db"
    if dest.exists():
        raise StorageError(f"备份目标已存在：{dest}")
    _backup(src, dest)
    return dest
