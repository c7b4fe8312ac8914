"""The database's own checks and the online backup (SQLite specifics stay here)."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from core.files import TEMP_PREFIX, MissingFolderError, fsync_dir, private_temp
from core.storage.db import Reader


async def integrity_problems(reader: Reader) -> list[str]:
    """What SQLite's integrity and foreign-key checks find (empty when all is well)."""
    rows = await reader.fetchall("PRAGMA integrity_check")
    problems = [f"数据库完整性：{row[0]}" for row in rows if row[0] != "ok"]
    fk = await reader.fetchall("PRAGMA foreign_key_check")
    problems += [f"外键不符：{tuple(row)}" for row in fk]
    return problems


def backup(src: Path, dest: Path) -> None:
    """Copy the live database at `src` to `dest` with the SQLite online backup API, whole
    or not at all: into a 0600 `.tmp-` file beside it, fsync'd, then linked in under its
    name (an existing `dest` is FileExistsError, a missing folder MissingFolderError)."""
    folder = dest.parent
    if not folder.is_dir():
        raise MissingFolderError(errno.ENOENT, os.strerror(errno.ENOENT), str(folder))
    fd, tmp = private_temp(folder, prefix=f"{TEMP_PREFIX}{dest.name}-")
    try:
        source = sqlite3.connect(src)
        try:
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        os.fsync(fd)
        os.link(tmp, dest)  # refuses an existing name, unlike rename
    finally:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
    fsync_dir(folder)
