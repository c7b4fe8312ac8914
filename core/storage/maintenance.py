"""The database's own checks (SQLite specifics stay here)."""

from __future__ import annotations

from core.storage.db import Reader


async def integrity_problems(reader: Reader) -> list[str]:
    """What SQLite's integrity and foreign-key checks find (empty when all is well)."""
    rows = await reader.fetchall("PRAGMA integrity_check")
    problems = [f"数据库完整性：{row[0]}" for row in rows if row[0] != "ok"]
    fk = await reader.fetchall("PRAGMA foreign_key_check")
    problems += [f"外键不符：{tuple(row)}" for row in fk]
    return problems

