"""The in-use lock guards the directory a process actually uses, and a refused restore
writes nothing."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from core.storage import backup as backups
from core.storage.db import Database
from core.storage.in_use import DataDirInUseError


async def _make(data: Path) -> None:
    db = await Database(data / "jiyao.db").open()
    await db.close()


def test_a_process_that_waited_for_a_restore_still_blocks_the_next_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service started while a restore --replace runs waits for it (the shared flock),
    then opens the restored database. It must then hold the lock of the directory it
    uses: a second restore --replace must be refused while it has the database open."""
    src, live = tmp_path / "src", tmp_path / "live"
    asyncio.run(_make(src))
    asyncio.run(_make(live))
    backups.backup(src, tmp_path / "bk")

    copying = threading.Event()
    go_on = threading.Event()
    real_copy = backups._copy_checked

    def slow_copy(*args: object) -> None:
        copying.set()
        assert go_on.wait(10)
        real_copy(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(backups, "_copy_checked", slow_copy)
    first = threading.Thread(target=backups.restore, args=(tmp_path / "bk", live),
                             kwargs={"replace": True, "stamp": "1"})
    first.start()
    assert copying.wait(10)

    opened = threading.Event()
    close = threading.Event()

    def service() -> None:
        async def main() -> None:
            db = await Database(live / "jiyao.db").open()  # waits for the restore
            opened.set()
            while not close.is_set():
                await asyncio.sleep(0.02)
            await db.close()
        asyncio.run(main())

    svc = threading.Thread(target=service)
    svc.start()
    time.sleep(0.3)
    assert not opened.is_set()  # waiting for the restore, as designed
    go_on.set()
    first.join(10)
    assert opened.wait(10)
    monkeypatch.setattr(backups, "_copy_checked", real_copy)
    try:
        with pytest.raises(DataDirInUseError):
            backups.restore(tmp_path / "bk", live, replace=True, stamp="2")
    finally:
        close.set()
        svc.join(10)


def test_a_refused_restore_leaves_the_directory_as_it_was(tmp_path: Path) -> None:
    """restore without --replace into a directory that is not empty is refused "未恢复";
    nothing in that directory may change (it may not even be jiyao's)."""
    src, other = tmp_path / "src", tmp_path / "other"
    asyncio.run(_make(src))
    backups.backup(src, tmp_path / "bk")
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(backups.DataDirNotEmptyError):
        backups.restore(tmp_path / "bk", other, replace=False, stamp="1")
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
