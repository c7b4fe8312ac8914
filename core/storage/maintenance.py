"""The database's own checks and the online backup (SQLite specifics stay here)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from core.files import create_private, private_dir
from core.storage.db import Reader


async def integrity_problems(reader: Reader) -> list[str]:
    """What SQLite's integrity and foreign-key checks find (empty when all is well)."""
    rows = await reader.fetchall("PRAGMA integrity_check")
    problems = [f"数据库完整性：{row[0]}" for row in rows if row[0] != "ok"]
    fk = await reader.fetchall("PRAGMA foreign_key_check")
    problems += [f"外键不符：{tuple(row)}" for row in fk]
    return problems


def backup(src: Path, dest: Path) -> None:
    """Copy the live database at `src` to `dest` with the SQLite online backup API."""
    private_dir(dest.parent)
    os.close(create_private(dest))  # 0600 before SQLite fills it; refuses an existing one
    source = sqlite3.connect(src)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
