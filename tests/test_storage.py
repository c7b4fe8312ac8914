"""Storage: units of work roll back unless committed; group commit keeps units independent."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from core.errors import StorageError
from core.storage.blobs import BlobStore
from core.storage.db import Database


async def _count(db: Database) -> int:
    async with db.reader() as r:
        row = await r.fetchone("SELECT COUNT(*) AS n FROM meta WHERE key LIKE 'k%'")
    assert row is not None
    return int(row["n"])


async def _put(db: Database, key: str, *, commit: bool = True, fail: bool = False) -> None:
    async with db.unit_of_work() as uow:
        await uow.execute("INSERT INTO meta (key, value) VALUES (?, 'v')", (key,))
        await asyncio.sleep(0)
        if fail:
            raise RuntimeError("boom")
        if commit:
            await uow.commit()


async def test_rolls_back_unless_committed(tmp_path: Path) -> None:
    """A unit that does not commit, or raises, leaves nothing behind."""
    async with Database(tmp_path / "x.db") as db:
        await _put(db, "k1", commit=False)
        with pytest.raises(RuntimeError):
            await _put(db, "k2", fail=True)
        await _put(db, "k3")
        assert await _count(db) == 1


async def test_group_commit_isolates_failures(tmp_path: Path) -> None:
    """Concurrent units share commits, yet a failing unit undoes only itself."""
    async with Database(tmp_path / "x.db") as db:
        results = await asyncio.gather(
            *(_put(db, f"k{i}", fail=(i % 7 == 3)) for i in range(40)), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, Exception)]
        assert len(failed) == len([i for i in range(40) if i % 7 == 3])
        assert await _count(db) == 40 - len(failed)
    # durable: visible to a fresh connection after close
    with sqlite3.connect(tmp_path / "x.db") as conn:
        left = conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'").fetchone()[0]
    assert left == 40 - len(failed)


async def test_failed_commit_fails_every_unit(tmp_path: Path) -> None:
    """When the shared COMMIT fails, every unit in the batch raises and nothing remains."""
    async with Database(tmp_path / "x.db") as db:
        async with db.unit_of_work() as uow:
            await uow.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
            # a deferred foreign key is only checked at COMMIT: a way to make COMMIT fail
            await uow.execute(
                "CREATE TABLE c (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)"
            )
            await uow.commit()

        async def add(v: int) -> None:
            async with db.unit_of_work() as uow:
                await uow.execute("INSERT INTO c (p) VALUES (?)", (v,))
                await uow.commit()

        async with db.unit_of_work() as uow:
            await uow.execute("INSERT INTO p (id) VALUES (1)")
            await uow.commit()
        results = await asyncio.gather(add(1), add(99), add(1), return_exceptions=True)
        assert all(isinstance(r, StorageError) for r in results), results
        async with db.reader() as r:
            rows = await r.fetchall("SELECT p FROM c")
        assert rows == []
        await add(1)  # the writer recovers for the next unit
        async with db.reader() as r:
            assert len(await r.fetchall("SELECT p FROM c")) == 1


def test_blob_store_is_content_addressed(tmp_path: Path) -> None:
    """Blobs are stored once under their sha256 and verified on demand."""
    store = BlobStore(tmp_path / "blobs")
    d1 = store.put(b"hello")
    assert store.put(b"hello") == d1
    assert store.get(d1) == b"hello"
    assert store.verify(d1) is None
    store.path_of(d1).write_bytes(b"tampered")
    assert store.verify(d1) is not None
    assert not [p for p in store.path_of(d1).parent.iterdir() if p.name.startswith(".tmp")]
    os.remove(store.path_of(d1))
    assert "缺失" in (store.verify(d1) or "")
